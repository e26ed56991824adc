#!/usr/bin/env bash
# `nix build` of nixos/package.nix, simulated: the package's build, checkPhase and install run the
# way Nix's Linux build sandbox and nixpkgs' Rust hooks run them, with bubblewrap; then the
# installed programs run as `nix run .` and `nix run .#loadtest` would run them.
#
#   bash checks/nix-sandbox-build.sh            (as root: it builds as the user lblab-nixbld)
#
# What is reproduced, read from NixOS/nix (the Linux derivation builder) and nixpkgs (stdenv's
# common-path.nix, build-rust-package, the cargo setup/build/check/install hooks):
# - the source is exactly what package.nix's fileset selects, of the files git tracks (a flake's
#   source); package.nix is evaluated with nix-instantiate (checks/nix-sandbox/derivation.nix) for
#   the file set, the check inputs, cargoTestFlags, checkFlags and dontUseCargoParallelTests;
# - dependencies vendored beforehand, offline, one directory per crate as importCargoLock makes
#   them, with the Cargo.lock comparison of the setup hook and its .cargo/config;
# - a root directory owned by real root, so that `/` shows as the overflow uid 65534 inside; the
#   builder is uid 1000, gid 100 in a user namespace that maps nothing else, run by a host user of
#   its own (as nixbld1 is); /etc with Nix's passwd, group and hosts, read-only; /tmp 1777; /build;
#   a fresh /proc and a minimal /dev; hostname localhost; a network namespace with loopback only;
# - /bin/sh a static busybox (Nix's sandbox shell); PATH only stdenv's tools (coreutils, findutils,
#   diffutils, sed, grep, awk, tar, gzip, bzip2, make, bash, patch, xz, file), the C compiler and
#   binutils, rustc and cargo, and what nativeBuildInputs and nativeCheckInputs name, each in a
#   directory of its own under /nix/store; nothing of /usr/bin, /usr/sbin, /usr/local or /root
#   visible (asserted inside before the build);
# - a cleared environment with Nix's variables (HOME=/homeless-shelter, which does not exist,
#   TMPDIR=/build, NIX_BUILD_CORES, …) and the hooks' own (RUST_LOG empty, the strip setting);
# - the hooks' cargo commands, as they print them; package.nix's postInstall, with a stand-in
#   of installShellFiles' setup hook (checks/nix-sandbox/install-shell-files.sh), and the files it
#   must install (man pages, completions) asserted;
#
# What it cannot reproduce: nixpkgs' own rustc, cargo, nginx, python3 and C toolchain (the host's
# are copied in, and since they are the host's binaries, the host's shared libraries and gcc's own
# programs in /usr/lib and its loader in /lib64 are visible read-only, where Nix has them in the
# store); the real store,
# the daemon and the hashes; the cargo-auditable wrapper nixpkgs puts around cargo; the seccomp
# filter and no-new-privileges of Nix's builder; stdenv's fixup phase (patchelf, strip).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { echo "nix-sandbox: $*"; }
die() {
  echo "nix-sandbox: $*" >&2
  exit 1
}

for tool in bwrap git nix-instantiate cargo rustc python3 setpriv; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (Debian: bubblewrap, git, nix-bin, util-linux)"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
  die "a static busybox is needed for the sandbox's /bin/sh (Debian: busybox-static)"

start=$(date +%s)
cores=${NIX_BUILD_CORES:-$(nproc)}

# The builder: a host user of its own when run as root, so that files of real root show as the
# overflow uid inside; otherwise the invoking user.
if [ "$(id -u)" -eq 0 ]; then
  id lblab-nixbld >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin lblab-nixbld
  builder_uid=$(id -u lblab-nixbld)
  builder_gid=$(id -g lblab-nixbld)
  cache=/var/cache/lblab-nix-sandbox
else
  builder_uid=$(id -u)
  builder_gid=$(id -g)
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/lblab/nix-sandbox
fi
as_builder() { setpriv --reuid="$builder_uid" --regid="$builder_gid" --clear-groups "$@"; }

work=$(mktemp -d /var/tmp/lblab-nix-sandbox.XXXXXX)
cleanup() {
  # Files the builder made inside are its own; root removes them all the same.
  rm -rf "$work" 2>/dev/null || as_builder rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
chmod 755 "$work"
store=$work/store
mkdir -p "$store"
# A store path's name, as Nix gives one: a hash and the name.
path_of() { echo "/nix/store/$(printf '%s' "$1" | sha256sum | cut -c1-32)-$1"; }
host_of() { echo "$store/${1#/nix/store/}"; }

# 1. What package.nix gives buildRustPackage, with nixpkgs' lib where the checks have one.
# shellcheck source=checks/nixpkgs-lib.sh
. checks/nixpkgs-lib.sh
if find_nixpkgs_lib; then
  lib_arg="import $NIXPKGS_LIB/lib"
  lib_said="nixpkgs' lib from $NIXPKGS_LIB"
else
  lib_arg=null
  lib_said="stand-ins for nixpkgs' lib ($nixpkgs_lib_missing)"
fi
drv_json=$(nix-instantiate --eval --strict --json checks/nix-sandbox/derivation.nix -A summary --arg lib "$lib_arg") ||
  die "nixos/package.nix did not evaluate"
eval "$(
  python3 - "$drv_json" <<'EOF'
import json, shlex, sys
d = json.loads(sys.argv[1])
def arr(name, xs):
    print(f"{name}=({' '.join(shlex.quote(str(x)) for x in xs)})")
def var(name, x):
    print(f"{name}={shlex.quote(str(x))}")
var("pname", d["pname"]); var("version", d["version"])
arr("src_files", d["source"]["files"]); var("src_root", d["source"]["root"])
arr("cargo_test_flags", d["cargoTestFlags"]); arr("cargo_build_flags", d["cargoBuildFlags"])
arr("check_flags", d["checkFlags"])
arr("native_build_inputs", d["nativeBuildInputs"]); arr("native_check_inputs", d["nativeCheckInputs"])
arr("build_inputs", d["buildInputs"])
var("dont_parallel_tests", "1" if d["dontUseCargoParallelTests"] else "")
var("do_check", "1" if d["doCheck"] else "")
var("build_type", d["buildType"]); var("check_type", d["checkType"])
var("lock_file", d["cargoLockFile"])
var("post_install", d["postInstall"])
EOF
)"
[ -z "$src_root" ] || die "package.nix's source root is $src_root, not the repository: the simulation copies from the repository's root"
[ "${#build_inputs[@]}" -eq 0 ] || die "package.nix has buildInputs (${build_inputs[*]}): the simulation does not provide libraries"
say "package.nix evaluated with $lib_said: $pname $version, source ${src_files[*]}"
say "  nativeBuildInputs: ${native_build_inputs[*]:-none}; nativeCheckInputs: ${native_check_inputs[*]:-none}"
say "  cargoTestFlags: ${cargo_test_flags[*]:-none}; checkFlags: ${check_flags[*]:-none}; dontUseCargoParallelTests: ${dont_parallel_tests:-no}"

# 2. The source: the files of the file set that git tracks, as they are in the work tree.
src=$(path_of source)
mkdir -p "$(host_of "$src")"
git ls-files -z --cached -- "${src_files[@]}" |
  python3 -c 'import os,sys; sys.stdout.buffer.write(b"\0".join(p for p in sys.stdin.buffer.read().split(b"\0") if p and os.path.lexists(p)))' |
  tar --null -T - -cf - | tar -xf - -C "$(host_of "$src")"
say "source: $(find "$(host_of "$src")" -type f | wc -l) files"

# 3. The dependencies, vendored offline beforehand as importCargoLock does (a directory per crate,
#    named with its version, and the Cargo.lock beside them).
deps=$(path_of "cargo-vendor-dir")
(cd "$(host_of "$src")" && cargo vendor --versioned-dirs --locked --offline --quiet "$(host_of "$deps")" >/dev/null) ||
  die "cargo vendor failed: the dependencies must be in cargo's cache first (cargo fetch)"
cp "$(host_of "$src")/$lock_file" "$(host_of "$deps")/Cargo.lock"
say "dependencies: $(find "$(host_of "$deps")" -mindepth 1 -maxdepth 1 -type d | wc -l) crates vendored"

# 4. The tools, each in a store path of its own: a copy of the host's program.
declare -A tool_dirs=()
add_tools() {
  local name=$1
  shift
  local dir
  dir=$(path_of "$name")
  mkdir -p "$(host_of "$dir")/bin"
  local cmd from
  for cmd in "$@"; do
    from=${cmd#*=}
    cmd=${cmd%%=*}
    [ "$from" != "$cmd" ] || from=$(command -v "$cmd" 2>/dev/null || true)
    if [ -z "$from" ] || [ ! -x "$from" ]; then
      say "  $name: no $cmd on this host, left out"
      continue
    fi
    cp -L "$from" "$(host_of "$dir")/bin/$cmd"
  done
  tool_dirs[$name]=$dir
}
# coreutils: every program Debian's package installs (several are shell builtins too, so named by
# their path, not looked up).
mapfile -t coreutils < <(dpkg -L coreutils 2>/dev/null | grep -E '^(/usr)?/bin/[^/]+$' | sed -E 's|^(.*/)([^/]+)$|\2=\1\2|')
[ "${#coreutils[@]}" -gt 50 ] || die "coreutils' programs were not found with dpkg -L coreutils"
add_tools coreutils "${coreutils[@]}"
add_tools findutils find xargs
add_tools diffutils diff cmp diff3 sdiff
add_tools gnused sed
add_tools gnugrep grep
add_tools gawk "awk=$(command -v gawk || command -v awk)" "gawk=$(command -v gawk || command -v awk)"
add_tools gnutar tar
add_tools gzip gzip gunzip zcat
add_tools bzip2 bzip2 bunzip2
add_tools gnumake make
add_tools bash bash "sh=$(command -v bash)"
add_tools patch patch
add_tools xz xz unxz
add_tools file file
add_tools cc-wrapper cc gcc c++ g++ cpp ld ld.bfd as ar nm ranlib strip objcopy objdump readelf
# gcc finds its own programs and plugins relative to where it runs from (../lib/gcc).
ln -s /usr/lib "$(host_of "${tool_dirs[cc-wrapper]}")/lib"
stdenv_path=""
for name in coreutils findutils diffutils gnused gnugrep gawk gnutar gzip bzip2 gnumake bash patch xz file cc-wrapper; do
  stdenv_path+="${stdenv_path:+:}${tool_dirs[$name]}/bin"
done

# rustc and cargo: the host's toolchain, copied once into a cache the builder can read (it lives
# under /root here, which the builder cannot enter).
sysroot=$(rustc --print sysroot)
rust_id=$(rustc -V | sha256sum | cut -c1-16)
rust_cache=$cache/rust-$rust_id
if [ ! -x "$rust_cache/bin/rustc" ]; then
  say "copying the Rust toolchain ($(rustc -V)) to $rust_cache"
  mkdir -p "$cache"
  chmod 755 "$cache"
  rm -rf "$rust_cache.tmp"
  mkdir -p "$rust_cache.tmp/bin"
  cp -a "$sysroot/lib" "$rust_cache.tmp/"
  cp -L "$sysroot/bin/rustc" "$sysroot/bin/cargo" "$sysroot/bin/rustdoc" "$rust_cache.tmp/bin/"
  chmod -R a+rX "$rust_cache.tmp"
  mv "$rust_cache.tmp" "$rust_cache"
fi
rust=$(path_of "rustc-cargo")
mkdir -p "$(host_of "$rust")"

# What package.nix names as inputs, mapped to the host's programs. A name the table lacks stops
# the simulation: it must be taught the input, not run without it.
input_path=""
# Inputs that are setup hooks (nix-support/setup-hook in their store path), which the builder
# sources as stdenv does.
hook_inputs=()
for name in "${native_build_inputs[@]}" "${native_check_inputs[@]}"; do
  case $name in
  installShellFiles)
    dir=$(path_of "install-shell-files")
    mkdir -p "$(host_of "$dir")/nix-support"
    cp checks/nix-sandbox/install-shell-files.sh "$(host_of "$dir")/nix-support/setup-hook"
    hook_inputs+=("$dir")
    continue
    ;;
  nginx) add_tools nginx "nginx=$(command -v nginx || echo /usr/sbin/nginx)" ;;
  haproxy) add_tools haproxy "haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)" ;;
  python3) add_tools python3 "python3=$(readlink -f /usr/bin/python3)" ;;
  util-linux) add_tools util-linux prlimit setpriv unshare nsenter ;;
  *) die "package.nix names '$name', which this simulation does not know: add it to the table in $0" ;;
  esac
  input_path+="${input_path:+:}${tool_dirs[$name]}/bin"
done
[ -z "${tool_dirs[nginx]:-}" ] && add_tools nginx "nginx=$(command -v nginx || echo /usr/sbin/nginx)"

# 5. The build script, in the store as Nix's default builder is.
out=$(path_of "$pname-$version")
mkdir -p "$(host_of "$out")"
builder=$(path_of "builder")
mkdir -p "$(host_of "$builder")"
cp checks/nix-sandbox/builder.sh checks/nix-sandbox/apps.sh "$(host_of "$builder")/"

# 6. The root: owned by real root, with the mount points bubblewrap binds onto made beforehand
#    (the builder, an ordinary user, cannot make them in a directory of root's).
root=$work/root
mkdir -p "$root"/{bin,build,dev,etc,nix/store,proc,tmp,usr/lib,usr/lib64}
chmod 755 "$root"
chmod 1777 "$root/tmp"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
cp "$busybox" "$root/bin/sh"
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:Nix build user:/build:/noshell
nixbld:x:1000:100:Nix build user:/build:/noshell
nobody:x:65534:65534:Nobody:/:/noshell
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nixbld:!:100:
nogroup:x:65534:
EOF
cat >"$root/etc/hosts" <<'EOF'
127.0.0.1 localhost
::1 localhost
EOF
chmod 555 "$root/etc"
chown "$builder_uid:$builder_gid" "$root/build" "$(host_of "$out")"
chmod -R a+rX "$store"
chmod 755 "$store"

sandbox() {
  local path=$1
  shift
  as_builder bwrap \
    --unshare-user --unshare-ipc --unshare-pid --unshare-net --unshare-uts --unshare-cgroup-try \
    --uid 1000 --gid 100 --hostname localhost \
    --die-with-parent --new-session \
    --bind "$root" / \
    --ro-bind /usr/lib /usr/lib --ro-bind /usr/lib64 /usr/lib64 \
    --ro-bind "$store" /nix/store \
    --ro-bind "$rust_cache" "$rust" \
    --bind "$(host_of "$out")" "$out" \
    --proc /proc --dev /dev \
    --chdir /build \
    --clearenv \
    --setenv PATH "$path" \
    --setenv HOME /homeless-shelter \
    --setenv NIX_STORE /nix/store \
    --setenv NIX_BUILD_TOP /build \
    --setenv NIX_BUILD_CORES "$cores" \
    --setenv NIX_LOG_FD 2 \
    --setenv TMPDIR /build --setenv TEMPDIR /build --setenv TMP /build --setenv TEMP /build \
    --setenv PWD /build \
    --setenv TERM xterm-256color \
    --setenv SOURCE_DATE_EPOCH 315532800 \
    --setenv out "$out" \
    --setenv src "$src" \
    --setenv cargoDeps "$deps" \
    --setenv lockFile "$lock_file" \
    --setenv cargoBuildType "$build_type" \
    --setenv cargoCheckType "$check_type" \
    --setenv cargoTestFlags "${cargo_test_flags[*]}" \
    --setenv cargoBuildFlags "${cargo_build_flags[*]}" \
    --setenv checkFlags "${check_flags[*]}" \
    --setenv dontUseCargoParallelTests "$dont_parallel_tests" \
    --setenv doCheck "$do_check" \
    --setenv postInstall "$post_install" \
    --setenv setupHookInputs "${hook_inputs[*]}" \
    --setenv nginx "${tool_dirs[nginx]}" \
    --setenv LBLAB_SANDBOX_NO_HOST "/usr/bin /usr/sbin /usr/local /root /usr/share" \
    "$@"
}

build_path="$stdenv_path:$rust/bin${input_path:+:$input_path}"
say "PATH inside: $build_path"
say "running the build in the sandbox (builder uid $builder_uid outside, 1000 inside)"
rc=0
sandbox "$build_path" -- "${tool_dirs[bash]}/bin/bash" "$builder/builder.sh" || rc=$?
[ "$rc" -eq 0 ] || die "the package's build failed in the sandbox (exit $rc)"

# 7. The apps, as `nix run .` (lblab run, with nginx) and `nix run .#loadtest` give them: PATH the
#    package's bin/ and nginx, nothing else; no HOME.
app_path="$out/bin:${tool_dirs[nginx]}/bin"
say "running the apps with PATH=$app_path"
rc=0
sandbox "$app_path" -- "${tool_dirs[bash]}/bin/bash" "$builder/apps.sh" || rc=$?
[ "$rc" -eq 0 ] || die "the apps failed in the sandbox (exit $rc)"

say "passed in $(($(date +%s) - start)) s"
