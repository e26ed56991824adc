# services.lblab: K lblab backends as hardened systemd services behind the system nginx, or behind
# the system HAProxy (proxy = "haproxy", through nixpkgs' services.haproxy).
#
# The upstream block is the one `lblab nginx-config --upstream-only` prints
# (crates/lblab-config/src/render.rs); checks/eval compares the two. The method names and their
# nginx directives come from nginx/methods.json, the table the Rust code compiles in. HAProxy's
# config is haproxy/haproxy.cfg filled in as `lblab haproxy-config` fills it (after its own global
# section), its methods from haproxy/methods.json and haproxy/aliases.json.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.lblab;

  # Whether the module sizes nginx for a burst; with workerConnections = null the host does.
  sizing = cfg.workerConnections != null;

  # How many times nginx's config `text` has `directive` (a second worker_connections or
  # worker_rlimit_nofile is refused by nginx).
  countDirective =
    directive: text:
    builtins.length (
      builtins.filter builtins.isList (builtins.split "(^|[;{[:space:]])${directive}[[:space:]]" text)
    );

  methods = builtins.fromJSON (builtins.readFile ../nginx/methods.json);
  # What a hash key may hold: the same rule `lblab --hash-key` checks.
  hashKeyRule = builtins.fromJSON (builtins.readFile ../nginx/hash-key.json);
  # How nginx treats the backends: the same file `lblab` renders nginx/lblab.conf from.
  proxy = builtins.fromJSON (builtins.readFile ../nginx/proxy.json);
  # The backend unit but for its ExecStart (how it runs, its sandbox, the loopback-only filter);
  # checks/systemd renders the same units from this file where it cannot evaluate the module.
  backendUnitSettings = builtins.fromJSON (builtins.readFile ./backend-unit.json);

  # "host:port", with the brackets nginx and Rust's SocketAddr want around an IPv6 literal.
  hostPort =
    address: port:
    if lib.hasInfix ":" address then "[${address}]:${toString port}" else "${address}:${toString port}";

  isLoopback = address: lib.hasPrefix "127." address || address == "::1";

  ids = lib.range 1 cfg.backends;
  portOf = id: cfg.basePort + id - 1;
  addrOf = id: hostPort cfg.address (portOf id);
  unitOf = id: "lblab-backend-${toString id}";

  # Where a Prometheus on this machine reaches backend `id`: a wildcard address is scraped over
  # loopback, which the backends always accept.
  scrapeAddress =
    if cfg.address == "0.0.0.0" then
      "127.0.0.1"
    else if cfg.address == "::" then
      "::1"
    else
      cfg.address;
  scrapeTargetOf = id: hostPort scrapeAddress (portOf id);

  # null, or the delay of backend `id`: a number of milliseconds or "MIN-MAX".
  delayOf =
    id:
    if lib.isAttrs cfg.backendDelay then cfg.backendDelay.${toString id} or null else cfg.backendDelay;

  # null where no weight is given (nginx's default, 1); the length is checked by an assertion.
  weightOf =
    id:
    if cfg.weights != null && id <= builtins.length cfg.weights then
      builtins.elemAt cfg.weights (id - 1)
    else
      null;

  # The balancing directive without ";", "" for round-robin (nginx's default).
  directive =
    lib.replaceStrings
      [ "{key}" "{consistent}" ]
      [ cfg.hashKey (lib.optionalString cfg.consistent " consistent") ]
      methods.${cfg.method}.directive;

  # As render.rs: a server that fails maxFails times is left out for failTimeout seconds (defaults
  # from nginx/proxy.json; nginx's own default is 10 s).
  serverParams = {
    max_fails = cfg.maxFails;
    fail_timeout = "${toString cfg.failTimeout}s";
  };
  # The backends marked backup (services.lblab.backup): sent requests only while every other is out.
  backupParams = id: lib.optionalAttrs (builtins.elem id cfg.backup) { backup = true; };
  # nginx/methods.json says which methods nginx takes `backup` servers with.
  backupMethods = builtins.attrNames (lib.filterAttrs (_: m: m.backup) methods);
  # As render.rs: a keepalive pool needs HTTP/1.1 and an empty Connection header; without one
  # these are nginx's own defaults, 1.0 and `Connection: close`.
  upstreamHeaders =
    if cfg.keepalive == null then
      {
        version = "1.0";
        connection = "close";
      }
    else
      {
        version = "1.1";
        connection = ''""'';
      };

  # An attribute set, so nixpkgs writes the servers sorted by address (backend 10 before backend 2
  # once there are ten): nginx's hash methods map keys to servers by that order, the shares of
  # round-robin, least-conn and random do not depend on it.
  servers =
    lib.listToAttrs (
      map (
        id:
        lib.nameValuePair (addrOf id) (
          serverParams
          // lib.optionalAttrs (weightOf id != null) { weight = weightOf id; }
          // backupParams id
        )
      ) ids
    )
    // lib.genAttrs cfg.extraUpstreams (_: serverParams);

  # nixpkgs renders the servers first and extraConfig after them. nginx takes `zone` anywhere in
  # the block, but `keepalive` must come after the balancing directive, so the order is fixed here.
  upstreamExtraConfig = lib.concatLines (
    [ "zone lblab ${zoneSize};" ]
    ++ lib.optional (directive != "") "${directive};"
    ++ lib.optional (cfg.keepalive != null) "keepalive ${toString cfg.keepalive};"
  );

  serverCount = builtins.length (builtins.attrNames servers);

  # As render.rs: the shared zone holds every server's state, so it grows with them (64k runs out
  # at about 60 servers): max(zone_size, servers × zone_per_server_kib).
  zoneSize =
    let
      base = lib.toInt (lib.removeSuffix "k" proxy.zone_size);
    in
    "${toString (lib.max base (serverCount * proxy.zone_per_server_kib))}k";

  # HAProxy: its methods' `balance` lines, and nginx's names it takes for three of them.
  haMethods = builtins.fromJSON (builtins.readFile ../haproxy/methods.json);
  haAliases = builtins.fromJSON (builtins.readFile ../haproxy/aliases.json);
  # HAProxy's spellings as `lblab --proxy haproxy --method` takes them: a word, hdr(NAME) with a
  # header name as HTTP defines a token, random(N).
  haMethodPattern = "(roundrobin|static-rr|leastconn|first|source|uri|random)|hdr[(][-!#$%&'*+.^_`|~0-9A-Za-z]+[)]|random[(][0-9]+[)]";
  haMethod = haAliases.${cfg.method} or cfg.method;
  # [ word "(arg)" arg ], the argument null when there is none.
  haParts = builtins.match "([a-z-]+)([(]([^()]*)[)])?" haMethod;
  haWord = if haParts == null then "" else builtins.elemAt haParts 0;
  haArg = if haParts == null then null else builtins.elemAt haParts 2;
  haBalance =
    lib.replaceStrings
      [ "{header}" "{draws}" ]
      [
        (if haWord == "hdr" then haArg else "")
        # HAProxy's own default of two draws, as DEFAULT_DRAWS in haproxy_method.rs.
        (if haWord == "random" then (if haArg == null then "2" else haArg) else "")
      ]
      (haMethods.${haWord} or { balance = haMethod; }).balance;
  haHashes = (haMethods.${haWord} or { hash = false; }).hash;

  # As HaproxyBackend::render: the servers s1, s2, … in backend order, then extraUpstreams.
  haServers =
    map (
      id:
      "server s${toString id} ${addrOf id}"
      + lib.optionalString (weightOf id != null) " weight ${toString (weightOf id)}"
      + lib.optionalString (cfg.maxconn != null) " maxconn ${toString cfg.maxconn}"
    ) ids
    ++ lib.imap1 (
      i: addr:
      "server s${toString (cfg.backends + i)} ${addr}"
      + lib.optionalString (cfg.maxconn != null) " maxconn ${toString cfg.maxconn}"
    ) cfg.extraUpstreams;
  haBackend = lib.concatLines (
    [
      "backend lblab"
      "    balance ${haBalance}"
    ]
    ++ lib.optional cfg.consistent "    hash-type consistent"
    ++ lib.optional (
      cfg.hashBalanceFactor != null
    ) "    hash-balance-factor ${toString cfg.hashBalanceFactor}"
    ++ map (l: "    ${l}") haServers
  );
  # Where the lab's front listens, nginx or HAProxy alike: every IPv4 address, and every IPv6
  # one when the host has IPv6.
  frontAddresses = [ "0.0.0.0" ] ++ lib.optional config.networking.enableIPv6 "[::]";
  # HAProxy's bind takes a comma-separated list. v6only keeps [::] to IPv6, as nginx's listen
  # [::] is by default (ipv6only=on), so that IPv4 is 0.0.0.0's alone; HAProxy ignores it for
  # an IPv4 address.
  haBind =
    lib.concatMapStringsSep "," (addr: "${addr}:${toString cfg.port}") frontAddresses
    + lib.optionalString config.networking.enableIPv6 " v6only";
  # haproxy/haproxy.cfg filled in; nixpkgs puts its own global section (stats socket) first.
  haproxyConfig =
    lib.replaceStrings
      [
        "{{connect_timeout}}"
        "{{read_timeout}}"
        "{{retries}}"
        "{{listen}}"
        "{{backend}}"
      ]
      [
        "${toString proxy.connect_timeout_ms}ms"
        "${toString proxy.read_timeout_ms}ms"
        (toString (serverCount - 1))
        haBind
        haBackend
      ]
      (builtins.readFile ../haproxy/haproxy.cfg);

  delayType = lib.types.either lib.types.ints.unsigned (lib.types.strMatching "[0-9]+-[0-9]+");

  backendUnit = id: {
    description = "lblab backend ${toString id} on ${addrOf id}";
    wantedBy = [ "multi-user.target" ];
    after = [ "network.target" ];
    # Only this backend's own settings are in the unit: a change of method, weights or anything
    # else nginx-side leaves it untouched on `switch-to-configuration`, so its PID survives.
    serviceConfig =
      backendUnitSettings.service
      // {
        ExecStart =
          "${lib.getExe' cfg.package "lblab-backend"} --id ${toString id} --listen ${addrOf id}"
          + lib.optionalString (delayOf id != null) " --delay ${toString (delayOf id)}";
      }
      // backendUnitSettings.sandbox
      // lib.optionalAttrs (isLoopback cfg.address) backendUnitSettings.loopbackOnly;
  };
in
{
  options.services.lblab = {
    enable = lib.mkEnableOption "the lblab load-balancing lab: lblab backends behind nginx";

    package = lib.mkPackageOption pkgs "lblab" { };

    backends = lib.mkOption {
      type = lib.types.int;
      default = 3;
      description = "How many backends to run; each is its own systemd service, `lblab-backend-N`.";
    };

    address = lib.mkOption {
      type = lib.types.str;
      default = "127.0.0.1";
      example = "0.0.0.0";
      description = "The IP address the backends listen on.";
    };

    basePort = lib.mkOption {
      type = lib.types.port;
      default = 8001;
      description = "Backend N (from 1) listens on {option}`address`:(basePort + N - 1).";
    };

    proxy = lib.mkOption {
      type = lib.types.enum [
        "nginx"
        "haproxy"
      ];
      default = "nginx";
      description = ''
        The load balancer in front of the backends: the system nginx, or the system HAProxy
        through {option}`services.haproxy` (as `lblab --proxy haproxy`).
      '';
    };

    method = lib.mkOption {
      type = lib.types.either (lib.types.enum (builtins.attrNames methods)) (
        lib.types.strMatching haMethodPattern
      );
      default = "round-robin";
      example = "least-conn";
      description = ''
        The balancing method. nginx's are the keys of `nginx/methods.json`; HAProxy's are
        roundrobin, static-rr, leastconn, first, source, uri, hdr(NAME) and random(N), and
        nginx's round-robin, least-conn and random-two (`haproxy/aliases.json`): the same
        names `lblab --method` takes.
      '';
    };

    maxconn = lib.mkOption {
      type = lib.types.nullOr lib.types.ints.positive;
      default = null;
      description = "HAProxy only: each server's `maxconn` (the rest wait in its queue); needed by `first`.";
    };

    hashBalanceFactor = lib.mkOption {
      type = lib.types.nullOr lib.types.ints.positive;
      default = null;
      example = 150;
      description = "HAProxy only, with `consistent`: `hash-balance-factor`, more than 100.";
    };

    hashKey = lib.mkOption {
      type = lib.types.str;
      default = "$request_uri";
      example = "$http_x_key";
      description = ''
        The key of the `hash` method, an nginx expression. Only used with `method = "hash"`.
      '';
    };

    consistent = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Ketama consistent hashing; only with `method = \"hash\"` (HAProxy: `hash-type consistent`, with source, uri or hdr(NAME)).";
    };

    weights = lib.mkOption {
      type = lib.types.nullOr (lib.types.listOf lib.types.ints.positive);
      default = null;
      example = [
        1
        2
        3
      ];
      description = ''
        Server weights in backend order (backend 1 first), one per backend, or null for
        nginx's default weight 1. nginx honours weights with every method lblab offers.
      '';
    };

    maxFails = lib.mkOption {
      type = lib.types.ints.unsigned;
      default = proxy.max_fails;
      description = ''
        nginx's `max_fails` of every server: failed tries within `failTimeout` that take a backend
        out for `failTimeout`; 0 never takes one out. The default is nginx/proxy.json's, as for
        `lblab run`.
      '';
    };

    failTimeout = lib.mkOption {
      type = lib.types.ints.between 1 proxy.fail_timeout_max_s;
      default = proxy.fail_timeout_s;
      description = ''
        nginx's `fail_timeout` of every server, in whole seconds (nginx counts it in seconds and
        refuses milliseconds). The default is nginx/proxy.json's.
      '';
    };

    backup = lib.mkOption {
      type = lib.types.listOf lib.types.ints.positive;
      default = [ ];
      example = [ 3 ];
      description = ''
        Backends (ids from 1) marked `backup`: nginx sends them requests only while every other
        backend is out. nginx takes them only with the methods whose `backup` is true in
        nginx/methods.json (round-robin, least-conn), and at least one backend must not be one.
      '';
    };

    keepalive = lib.mkOption {
      type = lib.types.nullOr (lib.types.ints.between 1 proxy.keepalive_max);
      default = proxy.keepalive;
      description = ''
        The idle keep-alive connections each nginx worker keeps to the backends, or null for none:
        a connection per request, with nginx's own HTTP/1.0 and `Connection: close` upstream.
        The default is nginx/proxy.json's.
      '';
    };

    port = lib.mkOption {
      type = lib.types.port;
      default = 80;
      description = "The port nginx serves the lab on.";
    };

    openFirewall = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Open {option}`port` in the firewall, and the backends' ports too when {option}`address`
        is not a loopback address (so that nginx on another machine can reach them through
        its {option}`extraUpstreams`).
      '';
    };

    backendDelay = lib.mkOption {
      type = lib.types.nullOr (lib.types.either delayType (lib.types.attrsOf delayType));
      default = null;
      example = {
        "1" = 50;
      };
      description = ''
        Slow backends down, for least-conn experiments: milliseconds, or a random delay in
        `"MIN-MAX"` milliseconds, added to every answer on `/` (`lblab-backend --delay`).
        A single value applies to every backend; an attribute set keyed by backend number
        (`{ "1" = 50; }`) slows only those.
      '';
    };

    workerConnections = lib.mkOption {
      type = lib.types.nullOr lib.types.ints.positive;
      default = 4096;
      description = ''
        nginx's `worker_connections`: nginx's default of 512 is too few for a burst of 1000
        requests, which hold one client and one upstream connection each. The module adds
        `worker_connections` to {option}`services.nginx.eventsConfig` and `worker_rlimit_nofile`
        (twice this) to {option}`services.nginx.appendConfig`. A host that sets either directive
        itself sets this to `null`, which leaves both to the host: nginx refuses a second one,
        and an assertion says so before nginx would.
      '';
    };

    prometheus.scrape = lib.mkOption {
      type = lib.types.bool;
      default = false;
      example = true;
      description = ''
        Let this machine's Prometheus scrape the backends: when
        {option}`services.prometheus.enable` is set, adds the job `lblab` to
        {option}`services.prometheus.scrapeConfigs`, with each backend's `/metrics` as a target
        (on {option}`address`, or on loopback when that is a wildcard address). Each backend
        labels its series with `backend="N"`: requests served, in flight, and a latency
        histogram. Without Prometheus enabled it adds nothing.
      '';
    };

    extraUpstreams = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "192.168.1.20:8001" ];
      description = ''
        More servers for the upstream, as "host:port": backends on other machines (for example
        another machine's services.lblab with `address = "0.0.0.0"` and `openFirewall`).
        They get nginx's default weight and the same `max_fails`/`fail_timeout` as the local ones.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion =
          countDirective "worker_connections" config.services.nginx.eventsConfig <= 1
          && countDirective "worker_rlimit_nofile" config.services.nginx.appendConfig <= 1;
        message = "services.nginx has worker_connections or worker_rlimit_nofile twice (nginx refuses that): the host's own, and the lines services.lblab.workerConnections adds. Set services.lblab.workerConnections = null to keep the host's.";
      }
      {
        assertion = cfg.backends >= 1;
        message = "services.lblab.backends must be at least 1 (it is ${toString cfg.backends}).";
      }
      {
        assertion =
          builtins.match "[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+" cfg.address != null
          || lib.hasInfix ":" cfg.address;
        message = "services.lblab.address \"${cfg.address}\" is not an IP address (the backends listen on ADDRESS:PORT, e.g. 127.0.0.1 or ::1).";
      }
      {
        assertion = cfg.weights == null || builtins.length cfg.weights == cfg.backends;
        message = "services.lblab.weights has ${
          toString (if cfg.weights == null then 0 else builtins.length cfg.weights)
        } weights for ${toString cfg.backends} backends (services.lblab.backends): give one weight per backend.";
      }
      {
        assertion = cfg.basePort + cfg.backends - 1 <= 65535;
        message = "services.lblab.basePort (${toString cfg.basePort}) + services.lblab.backends (${toString cfg.backends}) - 1 is past port 65535.";
      }
      {
        assertion = !(builtins.elem cfg.port (map portOf ids));
        message = "services.lblab.port (${toString cfg.port}) is also the port of backend ${
          toString (cfg.port - cfg.basePort + 1)
        } (services.lblab.basePort + N - 1): move services.lblab.port or services.lblab.basePort.";
      }
      {
        assertion = cfg.proxy == "nginx" -> cfg.consistent -> cfg.method == "hash";
        message = "services.lblab.consistent only applies to services.lblab.method = \"hash\", not \"${cfg.method}\".";
      }
      {
        assertion = cfg.proxy == "nginx" -> methods ? ${cfg.method};
        message = "services.lblab.method \"${cfg.method}\" is not nginx's (accepted: ${lib.concatStringsSep ", " (builtins.attrNames methods)}); HAProxy's need services.lblab.proxy = \"haproxy\".";
      }
      {
        assertion =
          cfg.proxy == "haproxy"
          -> haAliases ? ${cfg.method} || builtins.match haMethodPattern cfg.method != null;
        message = "services.lblab.method \"${cfg.method}\" is not HAProxy's (accepted: roundrobin, static-rr, leastconn, first, source, uri, hdr(NAME), random(N), and nginx's ${lib.concatStringsSep ", " (builtins.attrNames haAliases)}).";
      }
      {
        assertion = cfg.proxy == "haproxy" -> cfg.consistent -> haHashes;
        message = "services.lblab.consistent only applies to HAProxy's hashing methods (source, uri, hdr(NAME)), not \"${cfg.method}\".";
      }
      {
        assertion =
          (cfg.maxconn != null || cfg.hashBalanceFactor != null) -> cfg.proxy == "haproxy";
        message = "services.lblab.maxconn and hashBalanceFactor are HAProxy's: set services.lblab.proxy = \"haproxy\".";
      }
      {
        assertion = cfg.proxy == "nginx" -> cfg.backup != [ ] -> methods.${cfg.method}.backup or false;
        message = "services.lblab.backup: nginx takes backup servers only with ${lib.concatStringsSep ", " backupMethods} (not \"${cfg.method}\").";
      }
      {
        assertion = lib.all (id: id <= cfg.backends) cfg.backup && lib.allUnique cfg.backup;
        message = "services.lblab.backup names backends ${
          lib.concatMapStringsSep ", " toString cfg.backup
        }: each once, from 1 to ${toString cfg.backends} (services.lblab.backends).";
      }
      {
        assertion = builtins.length cfg.backup < cfg.backends;
        message = "services.lblab.backup: every backend would be a backup, and nginx would have none to send to first (leave at least one out).";
      }
      {
        assertion =
          cfg.proxy == "haproxy"
          -> cfg.backup == [ ]
            && cfg.maxFails == proxy.max_fails
            && cfg.failTimeout == proxy.fail_timeout_s
            && cfg.keepalive == proxy.keepalive;
        message = "services.lblab.maxFails, failTimeout, backup and keepalive are nginx's upstream settings: leave them at their defaults with services.lblab.proxy = \"haproxy\".";
      }
      {
        assertion = cfg.hashBalanceFactor != null -> cfg.consistent && cfg.hashBalanceFactor > 100;
        message = "services.lblab.hashBalanceFactor bounds consistent hashing: it needs services.lblab.consistent and a value above 100.";
      }
      {
        assertion = cfg.proxy == "haproxy" -> cfg.weights == null || lib.all (w: w <= 256) cfg.weights;
        message = "services.lblab.weights: HAProxy takes weights from 1 to 256.";
      }
      {
        # The rule `lblab` checks --hash-key with (nginx/hash-key.json): printable ASCII, one word,
        # none of the characters nginx would read as something other than the key.
        assertion =
          builtins.match "[!-~]+" cfg.hashKey != null
          && lib.all (c: !lib.hasInfix c cfg.hashKey) (lib.stringToCharacters hashKeyRule.not_in_key);
        message = "services.lblab.hashKey \"${cfg.hashKey}\" is not accepted: ${hashKeyRule.accepted}.";
      }
      {
        assertion =
          !(lib.isAttrs cfg.backendDelay)
          || lib.all (n: builtins.elem n (map toString ids)) (builtins.attrNames cfg.backendDelay);
        message = "services.lblab.backendDelay names backends ${
          lib.concatStringsSep ", " (
            if lib.isAttrs cfg.backendDelay then builtins.attrNames cfg.backendDelay else [ ]
          )
        }, but the backends are 1 to ${toString cfg.backends} (services.lblab.backends).";
      }
    ];

    systemd.services =
      lib.listToAttrs (map (id: lib.nameValuePair (unitOf id) (backendUnit id)) ids)
      // {
        # Type=notify backends are ready when their start job ends, so with After= nginx never sends a
        # request to a backend that does not listen yet (which would mark it failed for fail_timeout).
        # Wants=, not Requires=: a backend that dies and is restarted must not take nginx with it.
        ${cfg.proxy} = {
          after = map (id: "${unitOf id}.service") ids;
          wants = map (id: "${unitOf id}.service") ids;
        }
        # A new method is HAProxy's seamless reload (nixpkgs' ExecReload: a config check, then
        # SIGUSR2 to the master) on switch-to-configuration, not a restart: the backends are not
        # touched, connections in flight finish. A default only, as nginx's enableReload.
        // lib.optionalAttrs (cfg.proxy == "haproxy") { reloadIfChanged = lib.mkDefault true; };
      };

    services.haproxy = lib.mkIf (cfg.proxy == "haproxy") {
      enable = true;
      # nixpkgs' global section (its stats socket) comes first; this one sizes HAProxy for a burst.
      config =
        lib.optionalString sizing "global\n    maxconn ${toString cfg.workerConnections}\n\n"
        + haproxyConfig;
    };

    services.nginx = lib.mkIf (cfg.proxy == "nginx") {
      enable = true;
      # A new method (or weights, or hash key) is an nginx reload on switch-to-configuration,
      # not a restart: connections in flight finish, the backends are not touched. A default
      # only: a host that wants restarts keeps its own setting.
      enableReload = lib.mkDefault true;
      # Not mkDefault: eventsConfig is `lines`, so a user's own lines (multi_accept, …) are added to
      # this one instead of replacing it; the number itself is services.lblab.workerConnections,
      # and null leaves both lines to the host (an assertion names a duplicate).
      eventsConfig = lib.mkIf sizing "worker_connections ${toString cfg.workerConnections};";
      # Every client connection may hold an upstream one too, and each is a file descriptor (gixy,
      # which checks nginx.conf at build time, wants the limit at least twice worker_connections).
      appendConfig = lib.mkIf sizing "worker_rlimit_nofile ${toString (2 * cfg.workerConnections)};";

      upstreams.lblab = {
        inherit servers;
        extraConfig = upstreamExtraConfig;
      };

      virtualHosts.lblab = {
        default = lib.mkDefault true;
        listen = map (addr: {
          inherit addr;
          inherit (cfg) port;
          # A burst of connects at once overflows the default accept queue (511).
          extraParameters = [ "backlog=${toString proxy.listen_backlog}" ];
        }) frontAddresses;
        # The location blocks of nginx/lblab.conf.
        locations."/" = {
          proxyPass = "http://lblab";
          extraConfig = ''
            proxy_http_version ${upstreamHeaders.version};
            proxy_set_header Connection ${upstreamHeaders.connection};
            proxy_next_upstream ${proxy.next_upstream};
            proxy_next_upstream_tries ${toString serverCount};
            proxy_connect_timeout ${toString proxy.connect_timeout_ms}ms;
            proxy_read_timeout ${toString proxy.read_timeout_ms}ms;
            proxy_send_timeout ${toString proxy.read_timeout_ms}ms;
          '';
        };
        # A browser asks for /favicon.ico too; proxied, it would take a backend's round-robin turn.
        locations."= /favicon.ico".return = "204";
      };
    };

    # mkIf inside: reading services.prometheus.enable to decide on a value of services.prometheus
    # is fine per option, where a condition around the whole block would recurse.
    services.prometheus.scrapeConfigs = lib.mkIf (cfg.prometheus.scrape && config.services.prometheus.enable) [
      {
        job_name = "lblab";
        metrics_path = "/metrics";
        static_configs = [ { targets = map scrapeTargetOf ids; } ];
      }
    ];

    networking.firewall.allowedTCPPorts = lib.mkIf cfg.openFirewall (
      [ cfg.port ] ++ lib.optionals (!isLoopback cfg.address) (map portOf ids)
    );
  };
}
