# The package's phases as stdenv and nixpkgs' Rust hooks run them, inside the sandbox that
# checks/nix-sandbox-build.sh makes (it sets the environment: src, cargoDeps, out, the flags).
set -eu -o pipefail

fail() {
  echo "builder: $*" >&2
  exit 1
}

# The sandbox itself: nothing of the host may leak in.
for p in $LBLAB_SANDBOX_NO_HOST /usr/bin/python3 /usr/sbin/nginx /usr/sbin/haproxy /bin/true; do
  [ ! -e "$p" ] || fail "$p is visible in the sandbox"
done
for tool in chromium chromium-browser google-chrome prlimit curl; do
  ! command -v "$tool" >/dev/null 2>&1 || fail "$tool is on PATH in the sandbox"
done
[ "$(id -u):$(id -g)" = 1000:100 ] || fail "the builder is $(id -u):$(id -g), not 1000:100"
[ "$(stat -c %u /)" = 65534 ] || fail "/ is owned by uid $(stat -c %u /), not the overflow uid"
[ ! -e "$HOME" ] || fail "HOME ($HOME) exists"
! touch /etc/passwd 2>/dev/null || fail "/etc is writable"
interfaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')
[ "$interfaces" = "lo " ] || fail "network interfaces other than loopback: $interfaces"
echo "builder: sandbox checked: uid 1000 gid 100, / owned by 65534, no /usr/bin, /usr/sbin, /usr/local or /root, no chromium, python3 or prlimit but as declared, loopback only"

triple=$(rustc -vV | sed -n 's/^host: //p')

# stdenv's setup: each input's setup hook is sourced (installShellFiles: its functions).
for input in ${setupHookInputs:-}; do
  # shellcheck disable=SC1091
  . "$input/nix-support/setup-hook"
done

# unpackPhase: the source and the vendored dependencies copied out of the store, writable.
cp -r "$src" source
chmod -R u+w source
depsCopy=${cargoDeps#/nix/store/*-}
cp -r "$cargoDeps" "$depsCopy"
chmod -R u+w "$depsCopy"
# cargoSetupPostUnpackHook: cargo is pointed at the vendored crates, and at the C compiler as
# the linker.
mkdir -p .cargo
cat >.cargo/config.toml <<CONFIG
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "$NIX_BUILD_TOP/$depsCopy"

[target."$triple"]
linker = "$(command -v cc)"
CONFIG
export RUST_LOG=
cd source

# cargoSetupPostPatchHook: the lock file and the vendored one agree.
diff "$NIX_BUILD_TOP/source/$lockFile" "$NIX_BUILD_TOP/$depsCopy/Cargo.lock" ||
  fail "Cargo.lock differs from the vendored one"

# cargoBuildHook.
export "CARGO_PROFILE_${cargoBuildType^^}_STRIP"=false
build=(cargo build -j "$NIX_BUILD_CORES" --target "$triple" --offline)
[ "$cargoBuildType" = debug ] || build+=(--profile "$cargoBuildType")
# shellcheck disable=SC2206
build+=($cargoBuildFlags)
echo "+ ${build[*]}"
"${build[@]}"

# cargoCheckHook.
if [ -n "$doCheck" ]; then
  threads=$NIX_BUILD_CORES
  [ -z "$dontUseCargoParallelTests" ] || threads=1
  check=(cargo test -j "$NIX_BUILD_CORES")
  [ "$cargoCheckType" = debug ] || check+=(--profile "$cargoCheckType")
  # shellcheck disable=SC2206
  check+=(--target "$triple" --offline $cargoTestFlags -- --test-threads="$threads" $checkFlags)
  echo "+ ${check[*]}"
  "${check[@]}" 2>&1 | tee "$NIX_BUILD_TOP/check.log"
  # What ran, in one line: the sums of libtest's result lines over every test binary.
  awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { v = $i; k = $(i + 1); sub(/[;,]/, "", k); s[k] += v } }
       END { printf "builder: checkPhase: %d passed, %d failed, %d ignored, %d filtered out\n", s["passed"], s["failed"], s["ignored"], s["filtered"] }' \
    "$NIX_BUILD_TOP/check.log"
fi

# cargoInstallHook: the executables of the release directory into $out/bin.
mkdir -p "$out/bin"
find "target/$triple/$cargoBuildType" -maxdepth 1 -type f -executable \
  ! -name '*.so' ! -name '*.a' ! -name '*.d' -exec cp {} "$out/bin/" \;
echo "builder: installed: $(cd "$out/bin" && echo *)"

# postInstall, as stdenv's runHook runs a hook given as a string: in the source directory, with
# errexit and pipefail.
if [ -n "${postInstall:-}" ]; then
  echo "+ postInstall"
  eval "$postInstall"
fi
# What postInstall must have installed: each program's man page and its three completions, and
# a page for each of lblab's subcommands.
for bin in lblab loadtest lblab-backend; do
  for f in "share/man/man1/$bin.1" "share/bash-completion/completions/$bin.bash" \
    "share/zsh/site-functions/_$bin" "share/fish/vendor_completions.d/$bin.fish"; do
    [ -s "$out/$f" ] || fail "postInstall did not install $f"
  done
  bash -n "$out/share/bash-completion/completions/$bin.bash" || fail "$bin.bash is not valid bash"
done
# Every subcommand `lblab --help` lists (the lines under "Commands:", but help).
subcommands=$("$out/bin/lblab" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on && /^  [^ ]/ && $1 != "help" { print $1 }')
[ -n "$subcommands" ] || fail "lblab --help lists no subcommand"
for sub in $subcommands; do
  [ -s "$out/share/man/man1/lblab-$sub.1" ] || fail "postInstall did not install lblab-$sub.1"
done
echo "builder: man pages: $(cd "$out/share/man/man1" && echo *)"
echo "builder: completions: $(cd "$out/share" && echo bash-completion/completions/* zsh/site-functions/* fish/vendor_completions.d/*)"
