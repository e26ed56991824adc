# checks.<system>: the package (its build runs the workspace tests), clippy, nixfmt, and the
# NixOS VM tests of ./vm.nix. None of these can run without a Nix that builds; what runs
# everywhere is ./nix-eval.sh.
{ pkgs, self }:
let
  inherit (pkgs) lib;
  lblab = self.packages.${pkgs.stdenv.hostPlatform.system}.lblab;
in
{
  package = lblab;

  # `cargo clippy` as .ci/run runs it, with the package's vendored dependencies (no network).
  # auditable = false: cargo-auditable's wrapper and clippy-driver both want RUSTC_WORKSPACE_WRAPPER.
  clippy = pkgs.rustPlatform.buildRustPackage {
    pname = "lblab-clippy";
    inherit (lblab) version src;
    cargoLock.lockFile = ../Cargo.lock;
    auditable = false;
    nativeBuildInputs = [ pkgs.clippy ];
    buildPhase = ''
      runHook preBuild
      cargo clippy --workspace --all-targets --offline -- -D warnings
      runHook postBuild
    '';
    doCheck = false;
    installPhase = ''
      runHook preInstall
      mkdir -p "$out"
      runHook postInstall
    '';
  };

  # Every .nix file of the flake's source (git-tracked files) in RFC 166 style.
  nixfmt =
    pkgs.runCommand "lblab-nixfmt-check"
      {
        nativeBuildInputs = [ pkgs.nixfmt ];
        src = lib.fileset.toSource {
          root = ../.;
          fileset = lib.fileset.fileFilter (file: file.hasExt "nix") ../.;
        };
      }
      ''
        cd "$src"
        find . -name '*.nix' -print0 | xargs -0 nixfmt --check
        touch "$out"
      '';
}
// import ./vm.nix { inherit pkgs self; }
