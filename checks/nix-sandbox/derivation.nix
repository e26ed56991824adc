# What nixos/package.nix hands to rustPlatform.buildRustPackage (`args`, which checks/eval checks),
# and as JSON for checks/nix-sandbox-build.sh (`summary`): the files of its source, its check inputs by name, and the flags its
# build and check phases get. package.nix is called with stand-ins: buildRustPackage returns its
# argument, every other input is a stand-in package that knows only its name, and lib.fileset keeps
# the paths it is given (Nix 2.8, which evaluates here, predates the builtins the real fileset
# library needs), so the script lists the files with git as a flake would.
#
#   nix-instantiate --eval --strict --json checks/nix-sandbox/derivation.nix -A summary --arg lib 'import LIB'
#   (or --arg lib null, for the stand-ins alone)
{
  lib ? null,
}:
let
  root = ../..;
  rel = p: builtins.substring (builtins.stringLength (toString root) + 1) (-1) (toString p);

  # Only the parts of nixpkgs' lib that package.nix may use without a Nix that builds; the real
  # lib where it is given.
  baseLib =
    if lib != null then
      lib
    else
      {
        importTOML = p: builtins.fromTOML (builtins.readFile p);
        optionalString = cond: s: if cond then s else "";
        licenses.mit = "mit";
        platforms.linux = [ ];
      };
  fileset = {
    unions = paths: { inherit paths; };
    toSource =
      { root, fileset }:
      {
        root = rel root;
        files = map rel fileset.paths;
      };
  };
  # A fileset function other than these two fails the evaluation with "attribute … missing".
  stubLib = baseLib // {
    inherit fileset;
  };

  standIn = name: {
    pname = name;
    inherit name;
    type = "derivation";
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };

  function = import (root + "/nixos/package.nix");
  inputs = builtins.mapAttrs (
    name: _:
    if name == "lib" then
      stubLib
    else if name == "rustPlatform" then
      { buildRustPackage = args: args; }
    # A native build: the built programs run on the builder.
    else if name == "stdenv" then
      {
        buildPlatform.canExecute = _: true;
        hostPlatform = { };
      }
    else
      standIn name
  ) (builtins.functionArgs function);
  args = function inputs;
  names = map (d: d.pname);
in
{
  # The arguments themselves, for checks/eval.
  inherit args;
  # What the simulation needs, as JSON.
  summary = {
    inherit (args) pname version;
    source = args.src;
    cargoTestFlags = args.cargoTestFlags or [ ];
    cargoBuildFlags = args.cargoBuildFlags or [ ];
    checkFlags = args.checkFlags or [ ];
    nativeBuildInputs = names (args.nativeBuildInputs or [ ]);
    nativeCheckInputs = names (args.nativeCheckInputs or [ ]);
    buildInputs = names (args.buildInputs or [ ]);
    postInstall = args.postInstall or "";
    dontUseCargoParallelTests = args.dontUseCargoParallelTests or false;
    doCheck = args.doCheck or true;
    buildType = args.buildType or "release";
    checkType = args.checkType or args.buildType or "release";
    cargoLockFile = rel args.cargoLock.lockFile;
  };
}
