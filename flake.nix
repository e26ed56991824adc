{
  description = "lblab: backends behind a real nginx, a load test, and the distribution asserted";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      forAllSystems =
        f: lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (system: f nixpkgs.legacyPackages.${system});
    in
    {
      overlays.default = final: _prev: { lblab = final.callPackage ./nixos/package.nix { }; };

      packages = forAllSystems (pkgs: {
        lblab = pkgs.callPackage ./nixos/package.nix { };
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.lblab;
      });

      apps = forAllSystems (
        pkgs:
        let
          lblab = self.packages.${pkgs.stdenv.hostPlatform.system}.lblab;
          # `nix run` = `lblab run` with nixpkgs' nginx on PATH; arguments go to `lblab run`.
          run = pkgs.writeShellApplication {
            name = "lblab-run";
            runtimeInputs = [
              lblab
              pkgs.nginx
            ];
            text = ''exec lblab run "$@"'';
          };
        in
        {
          default = {
            type = "app";
            program = lib.getExe run;
            meta.description = "lblab run: three backends behind nginx and 1000 requests at once";
          };
          loadtest = {
            type = "app";
            program = lib.getExe' lblab "loadtest";
            meta.description = "The load-test client";
          };
        }
      );

      # Needs pkgs.lblab (overlays.default) or services.lblab.package set.
      nixosModules.lblab = ./nixos/module.nix;
      # The same, with this flake's package as the default: works with any nixpkgs instance,
      # including the read-only one of NixOS tests.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nixos/module.nix ];
          services.lblab.package = lib.mkDefault (
            pkgs.lblab or self.packages.${pkgs.stdenv.hostPlatform.system}.lblab
          );
        };

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            cargo
            rustc
            clippy
            rustfmt
            nginx
            wrk
            nixfmt
          ];
        };
      });

      # nixfmt-tree: treefmt with nixfmt, which formats the whole tree when `nix fmt` passes no file
      # (plain nixfmt would read stdin and wait).
      formatter = forAllSystems (pkgs: pkgs.nixfmt-tree);

      checks = forAllSystems (pkgs: import ./checks { inherit pkgs self; });
    };
}
