# The workspace as one package: bin/lblab, bin/lblab-backend and bin/loadtest.
{
  lib,
  stdenv,
  rustPlatform,
  installShellFiles,
  nginx,
  haproxy,
  python3,
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
      ../haproxy
    ];
  };

  cargoLock.lockFile = ../Cargo.lock;

  # The whole workspace's tests. The end-to-end ones start their own nginx and HAProxy (from
  # PATH) on loopback ports, which the build sandbox has.
  cargoTestFlags = [ "--workspace" ];
  # Some end-to-end tests assert latencies (least-conn avoids a slow backend, the open model
  # reports a stall); on a busy builder, tests run side by side would starve each other's nginx.
  dontUseCargoParallelTests = true;
  # nginx and HAProxy for the end-to-end tests; python3 reads the report's first line as Python
  # would (loadtest's report.rs). Every other tool a test runs is the test's own or stdenv's.
  nativeCheckInputs = [
    nginx
    haproxy
    python3
  ];
  # The four tests that drive a real browser against the dashboard: a browser is not something a
  # package build should pull in. They run in `cargo test` on CI (where a missing chromium fails
  # them), and the same checks run where Nix runs as the vm-dashboard VM test (checks/vm.nix).
  checkFlags = [
    "--skip=the_page_shows_the_counts_and_a_click_switches_nginx"
    "--skip=a_browser_reloading_the_lab_sees_the_backends_take_turns"
    "--skip=the_live_chart_draws_stats_over_time_and_marks_switches_and_bursts"
    "--skip=the_haproxy_page_switches_haproxy_with_a_click_and_draws_stats"
  ];

  # Shell completions and man pages, made by each binary from its own clap definition
  # (crates/lblab-generate): `--generate man DIR` writes a page per command and subcommand.
  # Only where the built binaries run here, so not when cross-compiling.
  nativeBuildInputs = [ installShellFiles ];
  postInstall = lib.optionalString (stdenv.buildPlatform.canExecute stdenv.hostPlatform) ''
    for bin in lblab loadtest lblab-backend; do
      mkdir -p "man-pages/$bin"
      "$out/bin/$bin" --generate man "man-pages/$bin" >/dev/null
      installManPage "man-pages/$bin"/*.1
      installShellCompletion --cmd "$bin" \
        --bash <("$out/bin/$bin" --generate complete-bash) \
        --zsh <("$out/bin/$bin" --generate complete-zsh) \
        --fish <("$out/bin/$bin" --generate complete-fish)
    done
  '';

  meta = {
    description = "Three backends behind a real nginx, a load test, and the distribution asserted";
    license = lib.licenses.mit;
    mainProgram = "lblab";
    platforms = lib.platforms.linux;
  };
}
