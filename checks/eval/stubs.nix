# Stand-ins for the NixOS options that nixos/module.nix sets, declared the way nixpkgs declares
# them (the source file is named at each), so that lib.evalModules can evaluate the module
# without the rest of NixOS. Only what the module touches is here; an option it sets that is
# not declared here makes the evaluation fail, as it would on a real system with a typo.
{ lib, pkgs, ... }:
let
  inherit (lib) mkOption types;

  # nixos/lib/systemd-lib.nix: what a unit name looks like.
  unitNameType = types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)";

  # A unit setting, merged as NixOS documents it: when every definition is a list the lists are
  # joined (a repeatable setting such as SystemCallFilter=), otherwise the definitions must agree.
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge =
      loc: defs:
      let
        kept = lib.filterOverrides defs;
        lists = map (d: builtins.isList d.value) kept;
      in
      if lib.all lib.id lists then
        lib.concatMap (d: d.value) kept
      else if lib.any lib.id lists then
        throw "${lib.showOption loc}: some definitions are lists and some are not"
      else
        lib.mergeEqualOption loc kept;
  };

  # Type= and Restart= only take values systemd knows (systemd.service(5)); NixOS refuses others
  # when it evaluates, so the stand-in does too.
  knownServiceValues = {
    Type = [
      "exec"
      "simple"
      "forking"
      "oneshot"
      "dbus"
      "notify"
      "notify-reload"
      "idle"
    ];
    Restart = [
      "no"
      "on-success"
      "on-failure"
      "on-abnormal"
      "on-abort"
      "always"
    ];
  };
  # A definition as written, without the mkForce/mkIf wrapper it may have.
  plainValue = v: if builtins.elem (v._type or "") [ "override" "if" ] then v.content else v;
  unknownServiceValues =
    attrs:
    lib.concatMap (
      name:
      lib.optional (
        attrs ? ${name} && !builtins.elem (plainValue attrs.${name}) knownServiceValues.${name}
      ) "${name}=${toString (plainValue attrs.${name})}"
    ) (builtins.attrNames knownServiceValues);
  checkService =
    attrs:
    let
      bad = unknownServiceValues attrs;
    in
    bad == [ ] || lib.trace "systemd does not know ${lib.concatStringsSep ", " bad}" false;

  unitNames = mkOption {
    default = [ ];
    type = types.listOf unitNameType;
  };

  serviceOptions = {
    options = {
      enable = mkOption {
        default = true;
        type = types.bool;
      };
      description = mkOption {
        default = "";
        type = types.singleLineStr;
      };
      wantedBy = unitNames;
      requiredBy = unitNames;
      requires = unitNames;
      wants = unitNames;
      after = unitNames;
      before = unitNames;
      bindsTo = unitNames;
      partOf = unitNames;
      unitConfig = mkOption {
        default = { };
        type = types.attrsOf unitOption;
      };
      serviceConfig = mkOption {
        default = { };
        type = types.addCheck (types.attrsOf unitOption) checkService;
      };
      reloadIfChanged = mkOption {
        default = false;
        type = types.bool;
      };
      environment = mkOption {
        default = { };
        type =
          with types;
          attrsOf (
            nullOr (oneOf [
              str
              path
              package
            ])
          );
      };
      path = mkOption {
        default = [ ];
        type =
          with types;
          listOf (oneOf [
            package
            str
          ]);
      };
      restartTriggers = mkOption {
        default = [ ];
        type = types.listOf types.unspecified;
      };
      reloadTriggers = mkOption {
        default = [ ];
        type = types.listOf unitOption;
      };
      restartIfChanged = mkOption {
        default = true;
        type = types.bool;
      };
      stopIfChanged = mkOption {
        default = true;
        type = types.bool;
      };
    };
  };

  # nixos/modules/services/web-servers/nginx/vhost-options.nix, `listen`
  listenOptions = {
    options = {
      addr = mkOption { type = types.str; };
      port = mkOption {
        type = types.nullOr types.port;
        default = null;
      };
      ssl = mkOption {
        type = types.bool;
        default = false;
      };
      proxyProtocol = mkOption {
        type = types.bool;
        default = false;
      };
      extraParameters = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
    };
  };

  # nixos/modules/services/web-servers/nginx/location-options.nix
  locationOptions = {
    options = {
      proxyPass = mkOption {
        type = types.nullOr types.str;
        default = null;
      };
      return = mkOption {
        type = types.nullOr (
          types.oneOf [
            types.str
            types.int
          ]
        );
        default = null;
      };
      extraConfig = mkOption {
        type = types.lines;
        default = "";
      };
      priority = mkOption {
        type = types.int;
        default = 1000;
      };
    };
  };

  # nixos/modules/services/web-servers/nginx/vhost-options.nix (the part the module uses)
  vhostOptions = {
    options = {
      serverName = mkOption {
        type = types.nullOr types.str;
        default = null;
      };
      listen = mkOption {
        type = types.listOf (types.submodule listenOptions);
        default = [ ];
      };
      listenAddresses = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      default = mkOption {
        type = types.bool;
        default = false;
      };
      extraConfig = mkOption {
        type = types.lines;
        default = "";
      };
      locations = mkOption {
        type = types.attrsOf (types.submodule locationOptions);
        default = { };
      };
    };
  };
in
{
  options = {
    # nixos/modules/misc/assertions.nix
    assertions = mkOption {
      type = types.listOf types.unspecified;
      internal = true;
      default = [ ];
    };
    warnings = mkOption {
      internal = true;
      default = [ ];
      type = types.listOf types.str;
    };

    # nixos/modules/system/boot/systemd.nix
    systemd.services = mkOption {
      default = { };
      type = types.attrsOf (types.submodule serviceOptions);
    };

    # nixos/modules/services/networking/haproxy.nix
    services.haproxy = {
      enable = lib.mkEnableOption "HAProxy";
      config = mkOption {
        default = null;
        type = types.nullOr types.lines;
      };
    };

    # nixos/modules/services/web-servers/nginx/default.nix
    services.nginx = {
      enable = lib.mkEnableOption "Nginx Web Server";
      package = mkOption {
        default = pkgs.nginx;
        type = types.package;
      };
      enableReload = mkOption {
        default = false;
        type = types.bool;
      };
      eventsConfig = mkOption {
        default = "";
        type = types.lines;
      };
      appendConfig = mkOption {
        default = "";
        type = types.lines;
      };
      upstreams = mkOption {
        default = { };
        type = types.attrsOf (
          types.submodule {
            options = {
              extraConfig = mkOption {
                default = "";
                type = types.lines;
              };
              servers = mkOption {
                default = { };
                type = types.attrsOf (
                  types.submodule {
                    options = {
                      backup = mkOption {
                        default = false;
                        type = types.bool;
                      };
                    };
                    freeformType = types.attrsOf (
                      types.oneOf [
                        types.bool
                        types.int
                        types.str
                      ]
                    );
                  }
                );
              };
            };
          }
        );
      };
      virtualHosts = mkOption {
        default = {
          localhost = { };
        };
        type = types.attrsOf (types.submodule vhostOptions);
      };
    };

    # nixos/modules/services/monitoring/prometheus/default.nix: the part the module sets and reads
    # (there a scrape config has many more options, all with defaults).
    services.prometheus = {
      enable = mkOption {
        default = false;
        type = types.bool;
      };
      scrapeConfigs = mkOption {
        default = [ ];
        type = types.listOf (
          types.submodule {
            options = {
              job_name = mkOption { type = types.str; };
              metrics_path = mkOption {
                default = "/metrics";
                type = types.str;
              };
              static_configs = mkOption {
                default = [ ];
                type = types.listOf (
                  types.submodule {
                    options = {
                      targets = mkOption { type = types.listOf types.str; };
                      labels = mkOption {
                        default = { };
                        type = types.attrsOf types.str;
                      };
                    };
                  }
                );
              };
            };
          }
        );
      };
      globalConfig.scrape_interval = mkOption {
        default = "1m";
        type = types.str;
      };
    };

    # nixos/modules/services/networking/firewall.nix
    networking.firewall.allowedTCPPorts = mkOption {
      type = types.listOf types.port;
      default = [ ];
      apply = ports: lib.unique (builtins.sort builtins.lessThan ports);
    };
    # nixos/modules/tasks/network-interfaces.nix
    networking.enableIPv6 = mkOption {
      default = true;
      type = types.bool;
    };

    # nixos/modules/config/users-groups.nix (a much larger submodule there; here only "is there
    # any?" is asked, since the backends run with DynamicUser).
    users.users = mkOption {
      default = { };
      type = types.attrsOf (types.attrsOf types.anything);
    };
    users.groups = mkOption {
      default = { };
      type = types.attrsOf (types.attrsOf types.anything);
    };
  };
}
