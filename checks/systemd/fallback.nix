# The VM tests as checks/systemd runs them, where no nixpkgs lib is at hand to evaluate the module:
# each test's machines, the services.lblab settings of each lab machine (and of its
# specialisations), the extra units a test adds, and its script, read from checks/vm.nix with
# stand-ins for the little of nixpkgs it calls. checks/systemd/fallback.py renders the units
# from these settings and nixos/backend-unit.json, the file the module reads its units from.
#
#   nix-instantiate --eval --strict --json checks/systemd/fallback.nix
let
  # What vm.nix's node modules call of lib: a specialisation's mkForce simply wins below.
  lib = {
    mkForce = v: v;
    mkDefault = v: v;
  };
  vmTests = import ../vm.nix {
    pkgs = {
      inherit lib;
      stdenv.hostPlatform.system = "x86_64-linux";
      testers.runNixOSTest = test: test;
      # Packages the nodes install, which the containers have from the host's /usr.
      nginx = { };
      chromium = { };
      python3 = { };
      writeScriptBin = _name: _text: { };
    };
    self = {
      nixosModules.default = { };
      packages.x86_64-linux.lblab = { };
    };
  };

  # A node module with its imports folded in: services.lblab and systemd.services merged by
  # attribute, the last definition winning (the module system would merge or refuse; the VM tests
  # define each setting once, but for the specialisation's override).
  # `args` are the module arguments a node function gets: lib, and the other nodes as the test
  # driver numbers them (their first address on vlan 1).
  flatten =
    args: node:
    let
      m = if builtins.isFunction node then node args else node;
      imported = builtins.foldl' merge { } (map (flatten args) (m.imports or [ ]));
    in
    merge imported (removeAttrs m [ "imports" ]);
  merge = a: b: {
    lblab = (a.lblab or { }) // (b.services.lblab or b.lblab or { });
    units = (a.units or { }) // (b.systemd.services or b.units or { });
    vlans = b.virtualisation.vlans or a.vlans or [ 1 ];
    specialisation = (a.specialisation or { }) // (b.specialisation or { });
  };

  machineOf = args: node: number: {
    inherit number;
    inherit (flatten args node) lblab units vlans;
    specialisations = builtins.mapAttrs (_: sp: (flatten args sp.configuration).lblab) (
      (flatten args node).specialisation
    );
  };
in
builtins.mapAttrs (
  _: test:
  let
    names = builtins.attrNames test.nodes;
    numberOf = name: 1 + builtins.length (builtins.filter (n: n < name) names);
    args = {
      inherit lib;
      nodes = builtins.mapAttrs (n: _: {
        networking.primaryIPAddress = "192.168.1.${toString (numberOf n)}";
      }) test.nodes;
    };
  in
  {
    machines = builtins.mapAttrs (name: node: machineOf args node (numberOf name)) test.nodes;
    script =
      if builtins.isFunction test.testScript then
        test.testScript {
          nodes = builtins.mapAttrs (n: _: { virtualisation.test.nodeNumber = numberOf n; }) test.nodes;
        }
      else
        test.testScript;
  }
) vmTests
