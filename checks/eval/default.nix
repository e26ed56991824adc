# The Nix evaluation harness that runs without a Nix that builds (checks/nix-eval.sh drives it):
# nixos/module.nix evaluated by nixpkgs' lib.evalModules with the stand-in option declarations
# of ./stubs.nix, for several configurations; the upstream block rendered as nixpkgs' nginx
# module renders it, for comparison with `lblab nginx-config --upstream-only`; invalid
# configurations, for nix-eval.sh to see them fail with a message naming the option; and the
# flake's outputs, flake.lock and the VM tests' node configurations, evaluated with stand-ins.
#
#   nix-instantiate --eval --strict --json checks/eval -A report --arg lib 'import LIB'
{
  lib ? import <nixpkgs/lib>,
  # For compare.<case>: what `lblab nginx-config --upstream-only <argv.<case>>` printed.
  rust ? "",
}:
let
  inherit (lib)
    all
    any
    attrNames
    concatMapStrings
    concatMapStringsSep
    concatStringsSep
    elemAt
    filter
    hasPrefix
    head
    length
    mapAttrs
    mapAttrsToList
    optional
    optionals
    sort
    splitString
    ;
  inherit (builtins) toJSON;

  root = ../..;

  fakePackage = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };

  pkgs = {
    lblab = fakePackage "lblab-0.1.0";
    nginx = fakePackage "nginx-1.28.0";
  };

  evalLab =
    modules:
    lib.evalModules {
      modules = [
        ./stubs.nix
        (root + "/nixos/module.nix")
        { _module.args.pkgs = pkgs; }
      ]
      ++ modules;
    };

  configWith =
    settings:
    (evalLab [
      {
        services.lblab = {
          enable = true;
        }
        // settings;
      }
    ]).config;

  # What nixos/modules/system/activation/top-level.nix does with config.assertions.
  failedAssertions = config: map (a: a.message) (filter (a: !a.assertion) config.assertions);
  checkAssertions =
    config:
    let
      failed = failedAssertions config;
    in
    if failed != [ ] then
      throw "\nFailed assertions:\n${concatStringsSep "\n" (map (x: "- ${x}") failed)}"
    else
      config;

  # services.nginx.upstreams as nginx.conf text, from the options' documented meaning: one
  # `upstream NAME { … }` per attribute; in it one `server ADDRESS PARAMS;` line per attribute of
  # `servers` (a parameter set to true is written as its bare name, one set to false is left out,
  # any other as name=value), then `extraConfig`. The comparison below ignores layout and the
  # order of a server's parameters, so only this meaning matters, not nixpkgs' exact text.
  serverParameter =
    name: value:
    if value == true then
      [ name ]
    else if value == false then
      [ ]
    else
      [ "${name}=${toString value}" ];
  serverLine =
    address: parameters:
    concatStringsSep " " (
      [
        "server"
        address
      ]
      ++ lib.concatLists (mapAttrsToList serverParameter parameters)
    )
    + ";";
  upstreamConfig =
    nginx:
    concatMapStrings (name: ''
      upstream ${name} {
      ${concatStringsSep "\n" (mapAttrsToList serverLine nginx.upstreams.${name}.servers)}
      ${nginx.upstreams.${name}.extraConfig}
      }
    '') (attrNames nginx.upstreams);

  # The statements of `upstream lblab { … }` in order, whitespace collapsed, a server's
  # parameters sorted (nixpkgs writes them in attribute order, render.rs in its own).
  statements =
    text:
    let
      parts = splitString "upstream lblab {" text;
      afterOpen =
        if length parts == 2 then elemAt parts 1 else throw "not one `upstream lblab {` in:\n${text}";
      body = head (splitString "}" afterOpen);
      words = s: filter (w: builtins.isString w && w != "") (builtins.split "[[:space:]]+" s);
      statement =
        s:
        let
          w = words s;
        in
        if w == [ ] then
          [ ]
        else if head w == "server" then
          [
            (concatStringsSep " " (
              [
                "server"
                (elemAt w 1)
              ]
              ++ sort builtins.lessThan (lib.drop 2 w)
            ))
          ]
        else
          [ (concatStringsSep " " w) ];
    in
    lib.concatMap statement (splitString ";" body);
  normalise = text: sort builtins.lessThan (statements text);

  balancing = [
    "least_conn"
    "ip_hash"
    "hash"
    "random"
  ];
  # keepalive after the balancing directive (nginx requires it), where there is one; none at all
  # when `wanted` is false (services.lblab.keepalive = null, `--keepalive off`).
  keepaliveInPlace =
    wanted: text:
    let
      firstWords = map (s: head (splitString " " s)) (statements text);
      indexOf =
        pred:
        let
          hits = filter (i: pred (elemAt firstWords i)) (lib.range 0 (length firstWords - 1));
        in
        if hits == [ ] then null else head hits;
      b = indexOf (w: builtins.elem w balancing);
      k = indexOf (w: w == "keepalive");
    in
    if wanted then k != null && (b == null || b < k) else k == null;

  # A flag and its value for `lblab nginx-config`/`haproxy-config`, or nothing when the value is
  # null; a list is written comma-separated, and an empty one is left out too.
  flag =
    name: value:
    optionals (value != null && value != [ ]) [
      name
      (if builtins.isList value then concatMapStringsSep "," toString value else toString value)
    ];

  # The flags of `lblab nginx-config` that describe the same upstream as a services.lblab config.
  argvOf =
    cfg:
    [
      "--method"
      cfg.method
      "--backends"
      (toString cfg.backends)
      "--base-port"
      (toString cfg.basePort)
      "--address"
      cfg.address
    ]
    ++ flag "--weights" cfg.weights
    ++ optionals (cfg.method == "hash") (
      [
        "--hash-key"
        cfg.hashKey
      ]
      ++ optional cfg.consistent "--consistent"
    )
    ++ flag "--max-fails" cfg.maxFails
    ++ flag "--fail-timeout" cfg.failTimeout
    ++ flag "--backup" cfg.backup
    ++ flag "--keepalive" (if cfg.keepalive == null then "off" else cfg.keepalive);

  # Configurations whose upstream block is compared with `lblab nginx-config --upstream-only`.
  upstreamCases = {
    default = { };
    least-conn.method = "least-conn";
    ip-hash.method = "ip-hash";
    hash.method = "hash";
    hash-key-consistent-weights = {
      method = "hash";
      hashKey = "$http_x_key";
      consistent = true;
      weights = [
        1
        2
        3
      ];
    };
    random.method = "random";
    random-two.method = "random-two";
    round-robin-weights.weights = [
      3
      1
      2
    ];
    # The zone grows past 64k with the servers.
    sixty-four-backends.backends = 64;
    five-backends-elsewhere = {
      method = "least-conn";
      backends = 5;
      basePort = 9000;
      address = "10.0.0.1";
    };
    ipv6 = {
      method = "ip-hash";
      address = "::1";
    };
    # nginx's upstream settings beside the method (nginx/proxy.json's by default).
    max-fails-0-fail-timeout-5 = {
      maxFails = 0;
      failTimeout = 5;
    };
    backup-least-conn = {
      method = "least-conn";
      backup = [ 3 ];
    };
    backup-two-of-five-weights = {
      backends = 5;
      backup = [
        2
        5
      ];
      weights = [
        1
        2
        3
        4
        5
      ];
    };
    keepalive-off = {
      method = "least-conn";
      keepalive = null;
    };
    keepalive-8.keepalive = 8;
  };
  upstreamConfigs = mapAttrs (_: settings: checkAssertions (configWith settings)) upstreamCases;

  # Configurations with proxy = "haproxy" whose HAProxy config (from haproxy/haproxy.cfg on) is
  # compared with `lblab haproxy-config --listen 0.0.0.0:80` for the same settings, on a host
  # without IPv6: the runner listens on one address, the module on nginx's (IPv6 too where the
  # host has it, checked by haproxyBind below).
  haproxyCases = {
    default = { };
    leastconn.method = "leastconn";
    least-conn-alias.method = "least-conn";
    first-maxconn = {
      method = "first";
      maxconn = 4;
    };
    source-weights = {
      method = "source";
      weights = [
        1
        2
        3
      ];
    };
    hdr-consistent-bounded = {
      method = "hdr(X-Key)";
      consistent = true;
      hashBalanceFactor = 150;
    };
    random-three = {
      method = "random(3)";
      backends = 5;
      basePort = 9001;
    };
    random-default.method = "random";
  };
  haproxyOn =
    ipv6: settings:
    checkAssertions
      (evalLab [
        {
          services.lblab = {
            enable = true;
            proxy = "haproxy";
          }
          // settings;
          networking.enableIPv6 = ipv6;
        }
      ]).config;
  haproxyConfigs = mapAttrs (_: haproxyOn false) haproxyCases;
  # The bind lines of HAProxy's frontend, with and without IPv6 on the host.
  haproxyBind =
    ipv6:
    filter (hasPrefix "    bind ") (
      splitString "\n" (haproxyOn ipv6 { port = 8080; }).services.haproxy.config
    );
  haproxyArgvOf =
    cfg:
    [
      "--method"
      cfg.method
      "--backends"
      (toString cfg.backends)
      "--base-port"
      (toString cfg.basePort)
      "--address"
      cfg.address
      "--listen"
      "0.0.0.0:${toString cfg.port}"
    ]
    ++ flag "--weights" cfg.weights
    ++ optional cfg.consistent "--consistent"
    ++ flag "--maxconn" cfg.maxconn
    ++ flag "--hash-balance-factor" cfg.hashBalanceFactor;

  # Invalid configurations: evaluating force.<name> must fail, and the error must contain each
  # of `expect` (nix-eval.sh checks both).
  invalidCases = {
    # nginx's hash, ip_hash and random modules refuse `backup` (nginx/methods.json says which take it).
    backup-with-hash = {
      settings = {
        method = "hash";
        backup = [ 3 ];
      };
      expect = [
        "services.lblab.backup"
        "only with least-conn, round-robin"
      ];
    };
    backup-with-random-two = {
      settings = {
        method = "random-two";
        backup = [ 1 ];
      };
      expect = [
        "services.lblab.backup"
        "(not \"random-two\")"
      ];
    };
    backup-every-backend = {
      settings.backup = [
        1
        2
        3
      ];
      expect = [
        "services.lblab.backup"
        "every backend would be a backup"
      ];
    };
    backup-no-such-backend = {
      settings.backup = [ 4 ];
      expect = [
        "services.lblab.backup"
        "from 1 to 3"
      ];
    };
    backup-twice = {
      settings = {
        backends = 4;
        backup = [
          2
          2
        ];
      };
      expect = [
        "services.lblab.backup"
        "each once"
      ];
    };
    fail-timeout-zero = {
      settings.failTimeout = 0;
      expect = [ "services.lblab.failTimeout" ];
    };
    keepalive-zero = {
      settings.keepalive = 0;
      expect = [ "services.lblab.keepalive" ];
    };
    nginx-upstream-settings-on-haproxy = {
      settings = {
        proxy = "haproxy";
        keepalive = null;
      };
      expect = [
        "services.lblab.maxFails, failTimeout, backup and keepalive are nginx's"
      ];
    };
    haproxy-method-on-nginx = {
      settings.method = "leastconn";
      expect = [
        "services.lblab.method"
        "proxy = \"haproxy\""
      ];
    };
    nginx-method-on-haproxy = {
      settings = {
        proxy = "haproxy";
        method = "ip-hash";
      };
      expect = [
        "services.lblab.method"
        "roundrobin, static-rr"
      ];
    };
    maxconn-on-nginx = {
      settings.maxconn = 3;
      expect = [ "services.lblab.maxconn" ];
    };
    haproxy-consistent-leastconn = {
      settings = {
        proxy = "haproxy";
        method = "leastconn";
        consistent = true;
      };
      expect = [ "services.lblab.consistent" ];
    };
    weights-length = {
      settings.weights = [
        1
        2
      ];
      expect = [ "services.lblab.weights" ];
    };
    weight-zero = {
      settings.weights = [
        0
        1
        1
      ];
      expect = [ "services.lblab.weights" ];
    };
    no-backends = {
      settings.backends = 0;
      expect = [ "services.lblab.backends" ];
    };
    port-conflict = {
      settings.port = 8002;
      expect = [
        "services.lblab.port"
        "backend 2"
      ];
    };
    ports-past-65535 = {
      settings.basePort = 65534;
      expect = [ "services.lblab.basePort" ];
    };
    address-not-ip = {
      settings.address = "localhost";
      expect = [ "services.lblab.address" ];
    };
    bad-method = {
      settings.method = "leastconn";
      expect = [
        "services.lblab.method"
        "least-conn"
      ];
    };
    consistent-without-hash = {
      settings.consistent = true;
      expect = [ "services.lblab.consistent" ];
    };
    bad-hash-key = {
      settings = {
        method = "hash";
        hashKey = "$http_x_key; return 200";
      };
      expect = [ "services.lblab.hashKey" ];
    };
    # Two words: nginx would read the second as `consistent` while the settings say it is off.
    hash-key-with-space = {
      settings = {
        method = "hash";
        hashKey = "$request_uri consistent";
      };
      expect = [
        "services.lblab.hashKey"
        "printable ASCII without spaces"
      ];
    };
    hash-key-with-comment = {
      settings = {
        method = "hash";
        hashKey = "$uri#x";
      };
      expect = [ "services.lblab.hashKey" ];
    };
    delay-of-missing-backend = {
      settings.backendDelay."4" = 50;
      expect = [ "services.lblab.backendDelay" ];
    };
    bad-delay = {
      settings.backendDelay = "slow";
      expect = [ "services.lblab.backendDelay" ];
    };
    # A host with nginx settings of its own: its worker_connections beside the module's line.
    host-worker-connections = {
      settings = { };
      host.services.nginx.eventsConfig = "worker_connections 1024;";
      expect = [ "services.lblab.workerConnections = null" ];
    };
    host-rlimit = {
      settings = { };
      host.services.nginx.appendConfig = "worker_rlimit_nofile 65536;";
      expect = [ "worker_rlimit_nofile twice" ];
    };
  };
  force = mapAttrs (
    _: case:
    let
      config = checkAssertions (
        (evalLab [
          { services.lblab = { enable = true; } // case.settings; }
          (case.host or { })
        ]).config
      );
    in
    builtins.deepSeq [
      config.systemd.services
      config.services.nginx.upstreams
      config.services.nginx.virtualHosts
      config.networking.firewall.allowedTCPPorts
    ] true
  ) invalidCases;

  # --- positive checks ------------------------------------------------------------------------

  check = name: ok: detail: { inherit name ok detail; };
  expectEq =
    name: actual: expected:
    check name (actual == expected) "expected ${toJSON expected}, got ${toJSON actual}";

  backendNames = config: filter (hasPrefix "lblab-backend-") (attrNames config.systemd.services);
  unit = config: id: config.systemd.services."lblab-backend-${toString id}";
  exec = config: id: (unit config id).serviceConfig.ExecStart;
  bin = "/nix/store/00000000000000000000000000000000-lblab-0.1.0/bin/lblab-backend";
  upstream = config: config.services.nginx.upstreams.lblab;
  location = config: config.services.nginx.virtualHosts.lblab.locations."/";
  extraLines = config: filter (l: l != "") (splitString "\n" (upstream config).extraConfig);

  d = upstreamConfigs.default;
  # The configurations whose location block nix-eval.sh compares with `lblab nginx-config`.
  locationCases = {
    default = d;
    keepalive-off = upstreamConfigs.keepalive-off;
  };
  methodTable = lib.importJSON (root + "/nginx/methods.json");
  perMethod = lib.genAttrs (attrNames methodTable) (
    m:
    checkAssertions (configWith {
      method = m;
    })
  );
  hashed = upstreamConfigs.hash-key-consistent-weights;
  wide = upstreamConfigs.five-backends-elsewhere;

  hardening = {
    Type = "notify";
    Restart = "on-failure";
    DynamicUser = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    PrivateUsers = true;
    NoNewPrivileges = true;
    CapabilityBoundingSet = "";
    AmbientCapabilities = "";
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    ProtectProc = "invisible";
    ProcSubset = "pid";
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    MemoryDenyWriteExecute = true;
    SystemCallArchitectures = "native";
    UMask = "0077";
    RestrictAddressFamilies = [
      "AF_UNIX"
      "AF_INET"
      "AF_INET6"
    ];
    SystemCallFilter = [
      "@system-service"
      "~@privileged"
    ];
    IPAddressDeny = "any";
    IPAddressAllow = "localhost";
  };

  delayed = checkAssertions (configWith {
    method = "least-conn";
    backendDelay."1" = 50;
  });
  delayedAll = checkAssertions (configWith {
    backendDelay = "10-40";
  });
  open = checkAssertions (configWith {
    openFirewall = true;
    port = 8080;
  });
  openWide = checkAssertions (configWith {
    openFirewall = true;
    address = "0.0.0.0";
  });
  extra = checkAssertions (configWith {
    method = "random-two";
    extraUpstreams = [
      "192.168.1.20:8001"
      "192.168.1.20:8002"
    ];
  });
  disabled = (evalLab [ { services.lblab.enable = false; } ]).config;
  noIPv6 = checkAssertions (
    (evalLab [
      {
        services.lblab.enable = true;
        networking.enableIPv6 = false;
      }
    ]).config
  );
  ipHash = upstreamConfigs.ip-hash;

  # Everything of the backend units and of nginx's unit that the lab defines.
  unitsOf =
    config:
    lib.filterAttrs (n: _: hasPrefix "lblab-backend-" n || n == "nginx") config.systemd.services;

  moduleChecks = [
    (expectEq "assertions hold for the default configuration" (failedAssertions d) [ ])
    (expectEq "nginx enabled, with enableReload"
      {
        inherit (d.services.nginx) enable enableReload;
      }
      {
        enable = true;
        enableReload = true;
      }
    )
    (expectEq "nginx sized for a burst of 1000: worker_connections and the fd limit"
      {
        inherit (d.services.nginx) eventsConfig appendConfig;
      }
      {
        eventsConfig = "worker_connections 4096;";
        appendConfig = "worker_rlimit_nofile 8192;";
      }
    )
    (expectEq "a user's eventsConfig is added to worker_connections, not put in its place"
      (checkAssertions
        (evalLab [
          {
            services.lblab.enable = true;
            services.nginx.eventsConfig = "multi_accept on;";
          }
        ]).config
      ).services.nginx.eventsConfig
      "multi_accept on;\nworker_connections 4096;"
    )
    (expectEq "a host's own enableReload = false stands (the module's true is a default)"
      (checkAssertions
        (evalLab [
          {
            services.lblab.enable = true;
            services.nginx.enableReload = false;
          }
        ]).config
      ).services.nginx.enableReload
      false
    )
    (expectEq "workerConnections = null leaves worker_connections and the fd limit to the host"
      {
        inherit
          ((checkAssertions
            (evalLab [
              {
                services.lblab.enable = true;
                services.lblab.workerConnections = null;
                services.nginx.eventsConfig = "worker_connections 1024;";
                services.nginx.appendConfig = "worker_rlimit_nofile 65536;";
              }
            ]).config
          ).services.nginx
          )
          eventsConfig
          appendConfig
          ;
      }
      {
        eventsConfig = "worker_connections 1024;";
        appendConfig = "worker_rlimit_nofile 65536;";
      }
    )
    (expectEq "workerConnections sets worker_connections and the fd limit"
      {
        inherit ((checkAssertions (configWith { workerConnections = 10000; })).services.nginx)
          eventsConfig
          appendConfig
          ;
      }
      {
        eventsConfig = "worker_connections 10000;";
        appendConfig = "worker_rlimit_nofile 20000;";
      }
    )
    (expectEq "three backend units" (backendNames d) [
      "lblab-backend-1"
      "lblab-backend-2"
      "lblab-backend-3"
    ])
    (expectEq "ExecStart of backend 2" (exec d 2) "${bin} --id 2 --listen 127.0.0.1:8002")
    (check "backend hardening and Type=notify" (all
      (id: lib.all (k: (unit d id).serviceConfig.${k} or null == hardening.${k}) (attrNames hardening))
      [
        1
        2
        3
      ]
    ) "serviceConfig of lblab-backend-1: ${toJSON (unit d 1).serviceConfig}")
    (expectEq "backends wanted by multi-user.target" (unit d 1).wantedBy [ "multi-user.target" ])
    (expectEq "nothing nginx-side in the backends' restart triggers"
      (map (id: (unit d id).restartTriggers) [
        1
        2
        3
      ])
      [
        [ ]
        [ ]
        [ ]
      ]
    )
    (expectEq "nginx ordered after and wanting the backends"
      {
        inherit (d.systemd.services.nginx) after wants;
      }
      {
        after = [
          "lblab-backend-1.service"
          "lblab-backend-2.service"
          "lblab-backend-3.service"
        ];
        wants = [
          "lblab-backend-1.service"
          "lblab-backend-2.service"
          "lblab-backend-3.service"
        ];
      }
    )
    (expectEq "servers and their parameters" (upstream d).servers {
      "127.0.0.1:8001" = {
        backup = false;
        max_fails = 1;
        fail_timeout = "2s";
      };
      "127.0.0.1:8002" = {
        backup = false;
        max_fails = 1;
        fail_timeout = "2s";
      };
      "127.0.0.1:8003" = {
        backup = false;
        max_fails = 1;
        fail_timeout = "2s";
      };
    })
    (expectEq "round-robin: zone and keepalive, no directive" (extraLines d) [
      "zone lblab 64k;"
      "keepalive 64;"
    ])
    (expectEq "hash: zone, directive with key and consistent, keepalive last" (extraLines hashed) [
      "zone lblab 64k;"
      "hash $http_x_key consistent;"
      "keepalive 64;"
    ])
    (expectEq "weights in backend order" (mapAttrs (_: s: s.weight) (upstream hashed).servers) {
      "127.0.0.1:8001" = 1;
      "127.0.0.1:8002" = 2;
      "127.0.0.1:8003" = 3;
    })
    (check "every method's directive comes from nginx/methods.json, before keepalive" (all (
      m:
      extraLines perMethod.${m} == [
        "zone lblab 64k;"
      ]
      ++
        optional (methodTable.${m}.directive != "")
          "${lib.replaceStrings [ "{key}" "{consistent}" ] [ "$request_uri" "" ] methodTable.${m}.directive};"
      ++ [ "keepalive 64;" ]
    ) (attrNames methodTable)) "upstream extraConfig: ${toJSON (mapAttrs (_: extraLines) perMethod)}")
    (check "method type: an enum of the keys of nginx/methods.json, or HAProxy's spellings" (
      let
        type = (evalLab [ ]).options.services.lblab.method.type;
        nginxNames = type.nestedTypes.left;
      in
      type.name == "either"
      && nginxNames.name == "enum"
      && all (m: lib.hasInfix "\"${m}\"" nginxNames.description) (attrNames methodTable)
      && type.nestedTypes.right.check "hdr(X-Key)"
      && !(type.nestedTypes.right.check "hdr(a b)")
    ) "")
    (check "the rendered upstream has keepalive after the balancing directive, and none when off" (all (
      c: keepaliveInPlace (c.services.lblab.keepalive != null) (upstreamConfig c.services.nginx)
    ) (lib.attrValues upstreamConfigs)) "")
    (expectEq "five backends on 10.0.0.1 from port 9000" (attrNames (upstream wide).servers) [
      "10.0.0.1:9000"
      "10.0.0.1:9001"
      "10.0.0.1:9002"
      "10.0.0.1:9003"
      "10.0.0.1:9004"
    ])
    (expectEq "ExecStart of backend 5 of 5" (exec wide 5) "${bin} --id 5 --listen 10.0.0.1:9004")
    (expectEq "no IP address filter off loopback" ((unit wide 1).serviceConfig.IPAddressDeny or null
    ) null)
    (expectEq "IPv6 address in brackets"
      {
        servers = attrNames (upstream upstreamConfigs.ipv6).servers;
        exec = exec upstreamConfigs.ipv6 1;
      }
      {
        servers = [
          "[::1]:8001"
          "[::1]:8002"
          "[::1]:8003"
        ];
        exec = "${bin} --id 1 --listen [::1]:8001";
      }
    )
    (expectEq "backendDelay per backend: --delay on backend 1 only"
      (map (exec delayed) [
        1
        2
        3
      ])
      [
        "${bin} --id 1 --listen 127.0.0.1:8001 --delay 50"
        "${bin} --id 2 --listen 127.0.0.1:8002"
        "${bin} --id 3 --listen 127.0.0.1:8003"
      ]
    )
    (expectEq "backendDelay for all: MIN-MAX on every backend"
      (map (exec delayedAll) [
        1
        2
        3
      ])
      [
        "${bin} --id 1 --listen 127.0.0.1:8001 --delay 10-40"
        "${bin} --id 2 --listen 127.0.0.1:8002 --delay 10-40"
        "${bin} --id 3 --listen 127.0.0.1:8003 --delay 10-40"
      ]
    )
    (expectEq "vhost: default, port 80 on IPv4 and IPv6, backlog"
      (map (
        l: "${l.addr}:${toString l.port} ${toString l.extraParameters}"
      ) d.services.nginx.virtualHosts.lblab.listen)
      [
        "0.0.0.0:80 backlog=4096"
        "[::]:80 backlog=4096"
      ]
    )
    (expectEq "vhost without IPv6" (map (l: l.addr) noIPv6.services.nginx.virtualHosts.lblab.listen) [
      "0.0.0.0"
    ])
    (expectEq "HAProxy's frontend binds where nginx listens: IPv4 and IPv6 (v6only, as nginx's [::])"
      (haproxyBind true)
      [ "    bind 0.0.0.0:8080,[::]:8080 v6only" ]
    )
    (expectEq "HAProxy's frontend without IPv6: IPv4 alone" (haproxyBind false) [
      "    bind 0.0.0.0:8080"
    ])
    (expectEq "location / proxies to the upstream" (location d).proxyPass "http://lblab")
    (expectEq "location directives as in nginx/lblab.conf"
      (filter (l: l != "") (splitString "\n" (location d).extraConfig))
      [
        "proxy_http_version 1.1;"
        "proxy_set_header Connection \"\";"
        "proxy_next_upstream error timeout http_502 http_503;"
        "proxy_next_upstream_tries 3;"
        "proxy_connect_timeout 3500ms;"
        "proxy_read_timeout 2000ms;"
        "proxy_send_timeout 2000ms;"
      ]
    )
    (check "proxy_next_upstream_tries = number of servers" (
      lib.hasInfix "proxy_next_upstream_tries 5;" (location wide).extraConfig
      && lib.hasInfix "proxy_next_upstream_tries 5;" (location extra).extraConfig
    ) "")
    (expectEq "extraUpstreams join the local servers" (attrNames (upstream extra).servers) [
      "127.0.0.1:8001"
      "127.0.0.1:8002"
      "127.0.0.1:8003"
      "192.168.1.20:8001"
      "192.168.1.20:8002"
    ])
    (expectEq "firewall closed by default" d.networking.firewall.allowedTCPPorts [ ])
    (expectEq "openFirewall opens the nginx port" open.networking.firewall.allowedTCPPorts [ 8080 ])
    (expectEq "openFirewall with a non-loopback address opens the backends too"
      openWide.networking.firewall.allowedTCPPorts
      [
        80
        8001
        8002
        8003
      ]
    )
    (expectEq "no users (DynamicUser)"
      {
        inherit (d.users) users groups;
      }
      {
        users = { };
        groups = { };
      }
    )
    (expectEq "disabled: no units, no nginx"
      {
        services = attrNames disabled.systemd.services;
        nginx = disabled.services.nginx.enable;
      }
      {
        services = [ ];
        nginx = false;
      }
    )
    (check "another method changes nginx's config only: backend units and nginx's unit identical" (
      unitsOf d == unitsOf ipHash && (upstream d).servers == (upstream ipHash).servers
    ) "")
    (expectEq "prometheus.scrape with Prometheus enabled: the job lblab, each backend's /metrics a target"
      (scrapeConfigsWith {
        prometheus.scrape = true;
      } true)
      [
        {
          job_name = "lblab";
          metrics_path = "/metrics";
          static_configs = [
            {
              targets = [
                "127.0.0.1:8001"
                "127.0.0.1:8002"
                "127.0.0.1:8003"
              ];
              labels = { };
            }
          ];
        }
      ]
    )
    (expectEq "prometheus.scrape follows backends and basePort, and scrapes a wildcard address on loopback"
      (map (c: (head c.static_configs).targets) (
        scrapeConfigsWith {
          prometheus.scrape = true;
          backends = 2;
          basePort = 9100;
          address = "0.0.0.0";
        } true
      ))
      [
        [
          "127.0.0.1:9100"
          "127.0.0.1:9101"
        ]
      ]
    )
    (expectEq "prometheus.scrape on IPv6: bracketed targets, :: scraped on ::1"
      (map (address: (head (head (scrapeConfigsWith {
        prometheus.scrape = true;
        backends = 1;
        inherit address;
      } true)).static_configs).targets) [
        "::1"
        "::"
      ])
      [
        [ "[::1]:8001" ]
        [ "[::1]:8001" ]
      ]
    )
    (expectEq "no scrape config without Prometheus, without prometheus.scrape, or without the lab"
      [
        (scrapeConfigsWith { prometheus.scrape = true; } false)
        (scrapeConfigsWith { } true)
        (scrapeConfigsWith {
          enable = false;
          prometheus.scrape = true;
        } true)
      ]
      [
        [ ]
        [ ]
        [ ]
      ]
    )
    (expectEq "a host's own scrape configs stay beside the lab's"
      (sort (a: b: a < b) (map (c: c.job_name) (
        (checkAssertions
          (evalLab [
            {
              services.lblab = {
                enable = true;
                prometheus.scrape = true;
              };
              services.prometheus = {
                enable = true;
                scrapeConfigs = [
                  {
                    job_name = "node";
                    static_configs = [ { targets = [ "127.0.0.1:9100" ]; } ];
                  }
                ];
              };
            }
          ]).config
        ).services.prometheus.scrapeConfigs
      )))
      [
        "lblab"
        "node"
      ]
    )
  ];

  # services.prometheus.scrapeConfigs of a lab with `settings`, Prometheus enabled or not.
  scrapeConfigsWith =
    settings: prometheus:
    (checkAssertions
      (evalLab [
        {
          services.lblab = {
            enable = true;
          }
          // settings;
          services.prometheus.enable = prometheus;
        }
      ]).config
    ).services.prometheus.scrapeConfigs;

  # --- the flake, with stand-ins for nixpkgs ---------------------------------------------------

  flake = import (root + "/flake.nix");
  lock = lib.importJSON (root + "/flake.lock");
  systems = [
    "aarch64-linux"
    "x86_64-linux"
  ];
  stubPkgsFor = system: {
    inherit lib;
    stdenv.hostPlatform.system = system;
    callPackage = fn: args: fakePackage "lblab-from-flake-${system}";
    nixfmt-tree = fakePackage "nixfmt-tree";
    nginx = fakePackage "nginx";
  };
  outputs = flake.outputs {
    self = outputs // {
      outPath = root;
    };
    nixpkgs = {
      inherit lib;
      legacyPackages = lib.genAttrs systems stubPkgsFor;
    };
  };
  viaFlakeModule =
    checkAssertions
      (lib.evalModules {
        modules = [
          ./stubs.nix
          outputs.nixosModules.default
          {
            _module.args.pkgs = removeAttrs (stubPkgsFor "x86_64-linux") [ "lblab" ];
            services.lblab.enable = true;
          }
        ];
      }).config;

  # package.nix with stand-ins, as the build's simulation reads it (checks/nix-sandbox-build.sh):
  # lib.fileset among them, as it needs a newer Nix (2.14: builtins.readFileType) than Debian's,
  # so the source set comes back as the list of its parts.
  packageArgs = (import ../nix-sandbox/derivation.nix { inherit lib; }).args;
  sourceParts = packageArgs.src.files;

  flakeChecks = [
    (expectEq "flake input: nixpkgs nixos-25.11 only" (mapAttrs (_: i: i.url) flake.inputs) {
      nixpkgs = "github:NixOS/nixpkgs/nixos-25.11";
    })
    (expectEq "flake outputs" (attrNames outputs) [
      "apps"
      "checks"
      "devShells"
      "formatter"
      "nixosModules"
      "overlays"
      "packages"
    ])
    (expectEq "packages per system" (mapAttrs (_: attrNames) outputs.packages) {
      aarch64-linux = [
        "default"
        "lblab"
      ];
      x86_64-linux = [
        "default"
        "lblab"
      ];
    })
    (expectEq "formatter: nixfmt-tree, which formats the tree when given no file"
      (mapAttrs (_: f: f.name) outputs.formatter)
      {
        aarch64-linux = "nixfmt-tree";
        x86_64-linux = "nixfmt-tree";
      }
    )
    (expectEq "apps" (attrNames outputs.apps.x86_64-linux) [
      "default"
      "loadtest"
    ])
    (expectEq "nixosModules" (attrNames outputs.nixosModules) [
      "default"
      "lblab"
    ])
    (expectEq "overlays.default adds lblab" (attrNames (
      outputs.overlays.default (stubPkgsFor "x86_64-linux") { }
    )) [ "lblab" ])
    (expectEq "nixosModules.default: the flake's package without the overlay"
      (viaFlakeModule.systemd.services.lblab-backend-1.serviceConfig.ExecStart)
      "/nix/store/00000000000000000000000000000000-lblab-from-flake-x86_64-linux/bin/lblab-backend --id 1 --listen 127.0.0.1:8001"
    )
    # The lock must pin what flake.nix asks for: the same repository and branch, at one commit.
    (expectEq "flake.lock pins flake.nix's nixpkgs input"
      (
        let
          node = lock.nodes.${lock.nodes.${lock.root}.inputs.nixpkgs};
          url = "${node.original.type}:${node.original.owner}/${node.original.repo}/${node.original.ref}";
        in
        {
          inherit url;
          sameRepo = node.locked.owner == node.original.owner && node.locked.repo == node.original.repo;
          pinned = builtins.match "[0-9a-f]{40}" node.locked.rev != null && node.locked ? narHash;
        }
      )
      {
        url = flake.inputs.nixpkgs.url;
        sameRepo = true;
        pinned = true;
      }
    )
    (expectEq "package: pname, version from Cargo.toml, lock file, meta"
      {
        inherit (packageArgs) pname version cargoTestFlags dontUseCargoParallelTests;
        lockFile = toString packageArgs.cargoLock.lockFile;
        mainProgram = packageArgs.meta.mainProgram;
        license = packageArgs.meta.license.spdxId;
        checkInputs = map (p: p.name) packageArgs.nativeCheckInputs;
      }
      {
        pname = "lblab";
        version = (lib.importTOML (root + "/Cargo.toml")).workspace.package.version;
        cargoTestFlags = [ "--workspace" ];
        dontUseCargoParallelTests = true;
        lockFile = toString (root + "/Cargo.lock");
        mainProgram = "lblab";
        license = "MIT";
        checkInputs = [
          "nginx"
          "haproxy"
          "python3"
        ];
      }
    )
    (expectEq "package source: Cargo.toml, Cargo.lock, crates/, nginx/ and haproxy/ only"
      {
        inherit (packageArgs.src) root;
        parts = sourceParts;
      }
      {
        root = "";
        parts = [
          "Cargo.toml"
          "Cargo.lock"
          "crates"
          "nginx"
          "haproxy"
        ];
      }
    )
  ];

  # --- the VM tests' node configurations --------------------------------------------------------

  vmTests = import ../vm.nix {
    pkgs = {
      inherit lib;
      inherit (pkgs) nginx;
      stdenv.hostPlatform.system = "x86_64-linux";
      testers.runNixOSTest = test: test;
      # What vm-dashboard's client installs: a browser and the script that drives it.
      chromium = fakePackage "chromium";
      python3 = fakePackage "python3";
      writeScriptBin = name: _text: fakePackage name;
    };
    self = outputs // {
      packages.x86_64-linux.lblab = pkgs.lblab;
    };
  };
  # A node of `test` evaluated with the module; the other nodes are seen as the test driver shows
  # them to a node function, by their first address on vlan 1 (machines numbered in name order).
  nodeOf =
    test: name: extra:
    lib.evalModules {
      modules = [
        ./stubs.nix
        ./test-stubs.nix
        test.nodes.${name}
        {
          _module.args.pkgs = pkgs;
          _module.args.nodes = lib.listToAttrs (
            lib.imap1 (
              i: n: lib.nameValuePair n { networking.primaryIPAddress = "192.168.1.${toString i}"; }
            ) (attrNames test.nodes)
          );
        }
      ]
      ++ extra;
    };
  labOf = test: nodeOf test "lab";
  switchLab = labOf vmTests.vm-switch [ ];
  switched = switchLab.extendModules {
    modules = [ switchLab.config.specialisation.ip-hash.configuration ];
  };
  testScripts = mapAttrs (
    _: test:
    if builtins.isFunction test.testScript then
      test.testScript { nodes.lab.virtualisation.test.nodeNumber = 4; }
    else
      test.testScript
  ) vmTests;

  # The VM tests as checks/systemd runs them under a real systemd: for each test, its machines
  # (their NixOS test node numbers, in name order as the test driver gives them, and vlans), the
  # units and nginx settings the module gives each machine that runs services.lblab (and each
  # of its specialisations), and the test script as the driver would get it.
  labExport =
    config:
    let
      units = lib.filterAttrs (
        n: _: hasPrefix "lblab-" n || n == "nginx" || n == "haproxy"
      ) config.systemd.services;
      haproxy = config.services.lblab.proxy == "haproxy";
    in
    {
      units = mapAttrs (_: u: {
        inherit (u)
          description
          wantedBy
          after
          wants
          unitConfig
          serviceConfig
          ;
      }) units;
      lblab = {
        inherit (config.services.lblab)
          method
          backends
          address
          basePort
          port
          hashKey
          consistent
          weights
          proxy
          ;
      };
      nginx =
        if haproxy then
          null
        else
          {
            upstream = upstreamConfig config.services.nginx;
            inherit (config.services.nginx) eventsConfig appendConfig;
            listen = map (l: "${l.addr}:${toString l.port} ${concatStringsSep " " l.extraParameters}") (
              config.services.nginx.virtualHosts.lblab.listen
            );
          };
      # What services.haproxy.config holds (nixpkgs' own global section comes before it).
      haproxy = if haproxy then config.services.haproxy.config else null;
    };
  machineExport =
    test: name: number:
    let
      evaluated = nodeOf test name [ ];
      inherit (evaluated) config;
      runsLab = config.services.lblab.enable or false;
    in
    {
      inherit number;
      inherit (config.virtualisation) vlans;
      lab = if runsLab then labExport (checkAssertions config) else null;
      specialisations = lib.optionalAttrs runsLab (
        mapAttrs (
          _: sp:
          labExport (checkAssertions (evaluated.extendModules { modules = [ sp.configuration ]; }).config)
        ) config.specialisation
      );
    };
  scenarios = mapAttrs (
    _: test:
    let
      names = attrNames test.nodes;
      numbers = lib.listToAttrs (lib.imap1 (i: n: lib.nameValuePair n i) names);
    in
    {
      machines = mapAttrs (n: _: machineExport test n numbers.${n}) test.nodes;
      script =
        if builtins.isFunction test.testScript then
          test.testScript {
            nodes = mapAttrs (n: _: { virtualisation.test.nodeNumber = numbers.${n}; }) test.nodes;
          }
        else
          test.testScript;
    }
  ) vmTests;

  vmChecks = [
    (expectEq "VM tests" (attrNames vmTests) [
      "vm-dashboard"
      "vm-failover"
      "vm-haproxy-first"
      "vm-haproxy-leastconn"
      "vm-haproxy-round-robin"
      "vm-haproxy-source"
      "vm-haproxy-switch"
      "vm-hash"
      "vm-ip-hash"
      "vm-least-conn"
      "vm-merge"
      "vm-metrics"
      "vm-multi-client"
      "vm-random"
      "vm-random-two"
      "vm-round-robin"
      "vm-sandbox"
      "vm-switch"
      "vm-two-labs"
      "vm-weighted"
    ])
    (expectEq "every method has a VM test, with its lab node on that method"
      (lib.genAttrs (attrNames (lib.importJSON (root + "/nginx/methods.json"))) (
        m: (checkAssertions (labOf vmTests."vm-${m}" [ ]).config).services.lblab.method
      ))
      (lib.genAttrs (attrNames (lib.importJSON (root + "/nginx/methods.json"))) (m: m))
    )
    (check "all lab nodes evaluate with their assertions holding" (all (
      name: failedAssertions (labOf vmTests.${name} [ ]).config == [ ]
    ) (attrNames vmTests)) "")
    (expectEq "least-conn test: backend 1 delayed 50 ms" (exec (labOf vmTests.vm-least-conn [ ]).config
      1
    ) "${bin} --id 1 --listen 127.0.0.1:8001 --delay 50")
    (expectEq "switch test: the specialisation is ip-hash" switched.config.services.lblab.method
      "ip-hash"
    )
    (check "switch test: the specialisation changes nginx's config only" (
      unitsOf switchLab.config == unitsOf switched.config
      && upstreamConfig switchLab.config.services.nginx != upstreamConfig switched.config.services.nginx
    ) "")
    (expectEq
      "two-labs test: lab2's backends in lab's upstream by IPv4 address (by host name, /etc/hosts would add IPv6 peers they refuse)"
      (lib.filter (lib.hasPrefix "192.168.") (
        attrNames (labOf vmTests.vm-two-labs [ ]).config.services.nginx.upstreams.lblab.servers
      ))
      [
        "192.168.1.3:8001"
        "192.168.1.3:8002"
      ]
    )
    (expectEq "multi-client test: the lab on three vlans, one client in each"
      {
        lab = (labOf vmTests.vm-multi-client [ ]).config.virtualisation.vlans;
        clients = map (n: vmTests.vm-multi-client.nodes.${n}.virtualisation.vlans) [
          "client1"
          "client2"
          "client3"
        ];
      }
      {
        lab = [
          1
          2
          3
        ];
        clients = [
          [ 1 ]
          [ 2 ]
          [ 3 ]
        ];
      }
    )
  ];

  results = moduleChecks ++ flakeChecks ++ vmChecks;
in
{
  # One line per check: "PASS name" or "FAIL name: detail".
  report = concatMapStrings (
    r: if r.ok then "PASS ${r.name}\n" else "FAIL ${r.name}: ${r.detail}\n"
  ) results;

  # The location block of each of locationCases, one directive per line, for nix-eval.sh to
  # compare with `lblab nginx-config` of the same settings: the default, and without a keep-alive
  # pool (nginx's own HTTP/1.0 and Connection: close upstream).
  locationCaseNames = concatStringsSep " " (attrNames locationCases);
  locationArgv = mapAttrs (_: config: lib.escapeShellArgs (argvOf config.services.lblab)) locationCases;
  locationLines = mapAttrs (
    _: config:
    concatStringsSep "\n" (
      [ "proxy_pass ${(location config).proxyPass};" ]
      ++ filter (l: l != "") (splitString "\n" (location config).extraConfig)
    )
  ) locationCases;

  # The favicon location of the default configuration, as nginx/lblab.conf has it.
  faviconLines = "return ${toString d.services.nginx.virtualHosts.lblab.locations."= /favicon.ico".return};";

  # The upstream comparison, one case at a time (nix-eval.sh runs lblab for each).
  upstreamCaseNames = concatStringsSep " " (attrNames upstreamCases);
  argv = mapAttrs (_: config: lib.escapeShellArgs (argvOf config.services.lblab)) upstreamConfigs;
  nixUpstream = mapAttrs (_: config: upstreamConfig config.services.nginx) upstreamConfigs;
  compare = mapAttrs (
    name: config:
    let
      nixText = upstreamConfig config.services.nginx;
      nixNorm = normalise nixText;
      rustNorm = normalise rust;
    in
    if nixNorm == rustNorm && keepaliveInPlace (config.services.lblab.keepalive != null) rust then
      "PASS upstream ${name}: the module's upstream = lblab nginx-config\n"
    else
      "FAIL upstream ${name}:\n  module: ${toJSON nixNorm}\n  lblab:  ${toJSON rustNorm}\n"
  ) upstreamConfigs;

  # The HAProxy comparison, one case at a time: the module's services.haproxy.config from
  # haproxy/haproxy.cfg's first line on (before it: the module's global lines), for nix-eval.sh.
  haproxyCaseNames = concatStringsSep " " (attrNames haproxyCases);
  haproxyArgv = mapAttrs (
    _: config: lib.escapeShellArgs (haproxyArgvOf config.services.lblab)
  ) haproxyConfigs;
  haproxyText = mapAttrs (
    _: config:
    let
      text = config.services.haproxy.config;
      marker = head (splitString "\n" (builtins.readFile (root + "/haproxy/haproxy.cfg")));
      parts = splitString marker text;
    in
    if config.services.haproxy.enable && !config.services.nginx.enable && length parts == 2 then
      marker + elemAt parts 1
    else
      "services.haproxy is not enabled alone, or its config lacks haproxy/haproxy.cfg"
  ) haproxyConfigs;

  # Invalid configurations: "name|expected text|…" lines, and force.<name> to evaluate.
  invalidCases = concatMapStrings (
    name: "${name}|${concatStringsSep "|" invalidCases.${name}.expect}\n"
  ) (attrNames invalidCases);
  inherit force;

  # The VM tests' Python, for a syntax check.
  inherit testScripts;
  # The VM tests for checks/systemd.sh.
  inherit scenarios;
  # Each VM test's machine names: the globals its script may use besides the driver's own.
  testMachines = mapAttrs (_: test: attrNames test.nodes) vmTests;
}
