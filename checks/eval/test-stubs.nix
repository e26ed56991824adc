# Stand-ins for the few options the VM tests' node configurations (checks/vm.nix) set besides
# services.lblab, so that their `lab` nodes can be evaluated with the module too.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options = {
    # nixos/modules/virtualisation/qemu-vm.nix
    virtualisation.vlans = mkOption {
      type = types.listOf types.ints.unsigned;
      default = [ 1 ];
    };
    virtualisation.memorySize = mkOption {
      type = types.ints.positive;
      default = 1024;
    };

    # nixos/modules/config/system-path.nix
    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };

    # nixos/modules/system/activation/specialisation.nix (there the configuration is evaluated
    # as an extension of the parent's; checks/eval does that with extendModules).
    specialisation = mkOption {
      default = { };
      type = types.attrsOf (
        types.submodule {
          options.inheritParentConfig = mkOption {
            type = types.bool;
            default = true;
          };
          options.configuration = mkOption {
            type = types.deferredModule;
            default = { };
          };
        }
      );
    };
  };
}
