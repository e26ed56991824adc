# The workspace as one package: bin/lblab, bin/lblab-backend and bin/loadtest.
{
  lib,
  rustPlatform,
  nginx,
}:
let
  workspace = (lib.importTOML ../Cargo.toml).workspace.package;
in
rustPlatform.buildRustPackage {
  pname = "lblab";
  inherit (workspace) version;

  # Only what cargo reads: an edit to the README, the flake or nixos/ does not rebuild.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../crates
      ../nginx
    ];
  };

  cargoLock.lockFile = ../Cargo.lock;

  # The whole workspace's tests. The end-to-end ones start their own nginx (from PATH) on
  # loopback ports, which the build sandbox has.
  cargoTestFlags = [ "--workspace" ];
  # Some end-to-end tests assert latencies (least-conn avoids a slow backend, the open model
  # reports a stall); on a busy builder, tests run side by side would starve each other's nginx.
  dontUseCargoParallelTests = true;
  nativeCheckInputs = [ nginx ];

  meta = {
    description = "Three backends behind a real nginx, a load test, and the distribution asserted";
    license = lib.licenses.mit;
    mainProgram = "lblab";
    platforms = lib.platforms.linux;
  };
}
