# NixOS VM tests: a `lab` machine with services.lblab, `client` machines with the load-test client,
# and the distribution asserted with the client's own --expect (it exits non-zero when an
# expectation fails or a request fails).
{ pkgs, self }:
let
  lblab = self.packages.${pkgs.stdenv.hostPlatform.system}.lblab;

  labNode = settings: {
    imports = [ self.nixosModules.default ];
    services.lblab = {
      enable = true;
      openFirewall = true;
    }
    // settings;
  };

  backendUnit = builtins.fromJSON (builtins.readFile ../nixos/backend-unit.json);

  clientNode = {
    environment.systemPackages = [ lblab ];
  };

  # The start of every lab + client test: everything up, one request answered. Each test imports
  # what it uses itself: the driver runs pyflakes on every script, and an unused import fails it.
  ready = ''
    start_all()
    lab.wait_for_unit("nginx.service")
    for i in (1, 2, 3):
        lab.wait_for_unit(f"lblab-backend-{i}.service")
    lab.wait_for_open_port(80)
    client.wait_for_unit("multi-user.target")
    client.wait_until_succeeds("loadtest http://lab/ -n 3 -c 1")


    def main_pid(unit):
        return lab.succeed(f"systemctl show -p MainPID --value {unit}").strip()


  '';

  # The same start with HAProxy in front (services.lblab.proxy = "haproxy").
  readyHaproxy = builtins.replaceStrings [ "\"nginx.service\"" ] [ "\"haproxy.service\"" ] ready;

  haproxyTest =
    name: settings: script:
    pkgs.testers.runNixOSTest {
      name = "lblab-haproxy-${name}";
      nodes = {
        lab = labNode ({ proxy = "haproxy"; } // settings);
        client = clientNode;
      };
      testScript = readyHaproxy + script;
    };

  labTest =
    name: settings: script:
    pkgs.testers.runNixOSTest {
      name = "lblab-${name}";
      nodes = {
        lab = labNode settings;
        client = clientNode;
      };
      testScript = ready + script;
    };
in
{
  vm-round-robin = labTest "round-robin" { method = "round-robin"; } ''
    import re

    client.succeed("loadtest http://lab/ --backends 3 -n 300 -c 30 --expect round-robin")

    # Every backend's sandbox, as systemd-analyze scores it (0 = locked down, 10 = unprotected).
    for i in (1, 2, 3):
        out = lab.succeed(f"systemd-analyze security --no-pager lblab-backend-{i}.service")
        level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
        assert level is not None, f"no exposure level in:\n{out}"
        exposure = float(level.group(1))
        print(f"lblab-backend-{i}.service: exposure {exposure}")
        assert exposure <= 2.0, f"lblab-backend-{i}: exposure {exposure} > 2.0:\n{out}"
  '';

  # The sandbox is enforced, not only declared: backend 1's own process runs as a dynamic user,
  # with no new privileges and a seccomp filter, and sees /etc read-only; a unit with the
  # backends' sandbox is refused a privileged system call (chown of its own file, which
  # needs no capability, so only the filter can refuse it); and with IPAddressAllow=localhost a
  # connection to the backend from the machine's non-loopback address is dropped.
  vm-sandbox = pkgs.testers.runNixOSTest {
    name = "lblab-sandbox";
    nodes = {
      lab = {
        imports = [ (labNode { method = "round-robin"; }) ];
        environment.systemPackages = [ lblab ];
        systemd.services.lblab-probe = {
          description = "a system call the lblab backends' sandbox must refuse";
          # The sandbox the module gives every backend, from the file it reads it from.
          serviceConfig = backendUnit.sandbox // {
            Type = "oneshot";
            StandardOutput = "file:/run/lblab-probe.out";
            # $$ is systemd's escape for a literal $.
            ExecStart = ''/bin/sh -c "id -u; touch /tmp/probe; if chown $$(id -u) /tmp/probe; then echo chown allowed; else echo chown refused; fi"'';
          };
        };
      };
      client = clientNode;
    };
    testScript = ready + ''
      import re

      pid = main_pid("lblab-backend-1.service")
      uid = int(lab.succeed(f"stat -c %u /proc/{pid}").strip())
      assert 61184 <= uid <= 65519, f"backend 1 runs as uid {uid}, not a dynamic user"
      status = lab.succeed(f"cat /proc/{pid}/status")
      for field, want in (("NoNewPrivs", "1"), ("Seccomp", "2")):
          found = re.search(rf"^{field}:\s+(\S+)$", status, re.M)
          assert found is not None and found.group(1) == want, f"backend 1: {field} is not {want}"
      lab.fail(f"nsenter --target {pid} --mount -- touch /etc/lblab-probe")

      lab.succeed("systemctl start lblab-probe.service")
      out = lab.succeed("cat /run/lblab-probe.out")
      assert "chown refused" in out, f"the sandbox let a privileged system call through:\n{out}"
      assert int(out.split()[0]) >= 61184, f"the probe did not run as a dynamic user:\n{out}"

      addr = lab.succeed(
          "ip -4 -o addr show dev eth1 | awk '{ split($4, a, \"/\"); print a[1] }'"
      ).strip()
      lab.succeed("loadtest http://127.0.0.1:8001/ -n 5 -c 1")
      # From that address nginx (no IP filter) answers, so what drops it at the backend is the filter.
      lab.succeed(f"loadtest http://127.0.0.1:80/ -n 5 -c 1 --source-ip {addr}")
      lab.fail(f"loadtest http://127.0.0.1:8001/ -n 1 -c 1 --source-ip {addr} --timeout 2s")
    '';
  };

  vm-weighted = labTest "weighted" {
    method = "round-robin";
    weights = [
      1
      2
      3
    ];
  } ''client.succeed("loadtest http://lab/ --backends 3 -n 600 -c 30 --expect round-robin:1,2,3")'';

  # Each backend's /metrics, read on the lab (the backends take loopback only): after 300
  # round-robin requests each counts 100 more, in its counter and in its histogram, and nothing
  # is left in flight. Where the machine runs Prometheus (the NixOS VM, not checks/systemd.sh's
  # containers, which run the lab's own units only), Prometheus scrapes the three targets the
  # module gave it and its sum agrees.
  vm-metrics =
    pkgs.testers.runNixOSTest {
      name = "lblab-metrics";
      nodes = {
        lab = {
          imports = [
            (labNode {
              method = "round-robin";
              prometheus.scrape = true;
            })
          ];
          services.prometheus = {
            enable = true;
            globalConfig.scrape_interval = "1s";
          };
        };
        client = clientNode;
      };
      testScript = ready + ''
        import json
        import re


        def metrics():
            """{backend: (requests_total, histogram _count, in flight)} from each /metrics."""
            out = {}
            for i in (1, 2, 3):
                text = lab.succeed(f"curl -sf http://127.0.0.1:{8000 + i}/metrics")
                values = {}
                for name in ("requests_total", "request_duration_seconds_count", "requests_in_flight"):
                    found = re.search(rf'^lblab_backend_{name}{{backend="{i}"}} (\S+)$', text, re.M)
                    assert found is not None, f"backend {i}: no {name} in:\n{text}"
                    values[name] = float(found.group(1))
                out[i] = values
            return out


        before = metrics()
        client.succeed("loadtest http://lab/ --backends 3 -n 300 -c 30 --expect round-robin")
        after = metrics()
        print(f"/metrics before: {before}\n/metrics after: {after}")
        for i in (1, 2, 3):
            for name in ("requests_total", "request_duration_seconds_count"):
                delta = after[i][name] - before[i][name]
                assert delta == 100, f"backend {i}: {name} grew by {delta}, not 100"
            assert after[i]["requests_in_flight"] == 0, f"backend {i}: {after[i]}"

        if lab.execute("systemctl cat prometheus.service")[0] == 0:
            lab.wait_for_unit("prometheus.service")
            total = sum(after[i]["requests_total"] for i in (1, 2, 3))
            query = "http://127.0.0.1:9090/api/v1/query?query=sum(lblab_backend_requests_total)"
            lab.wait_until_succeeds(
                f"curl -sf '{query}' | grep -q '\"{int(total)}\"'", timeout=60
            )
            targets = json.loads(lab.succeed("curl -sf http://127.0.0.1:9090/api/v1/targets"))
            up = sorted(
                t["labels"]["instance"]
                for t in targets["data"]["activeTargets"]
                if t["labels"]["job"] == "lblab" and t["health"] == "up"
            )
            assert up == [f"127.0.0.1:{8000 + i}" for i in (1, 2, 3)], f"targets up: {up}"
            print(f"Prometheus scraped {up}, sum {int(total)}")
        else:
            print("no prometheus.service on this machine (checks/systemd.sh): /metrics read with curl only")
      '';
    };

  vm-ip-hash = labTest "ip-hash" {
    method = "ip-hash";
  } ''client.succeed("loadtest http://lab/ --backends 3 -n 300 -c 30 --expect one")'';

  # Backend 1 answers 50 ms late, so it holds its connections longest and least_conn avoids it.
  vm-least-conn = labTest "least-conn" {
    method = "least-conn";
    backendDelay = {
      "1" = 50;
    };
  } ''client.succeed("loadtest http://lab/ --backends 3 -n 2000 -c 100 --expect max-share:1=15%")'';

  vm-hash =
    labTest "hash"
      {
        method = "hash";
        hashKey = "$http_x_key";
      }
      ''client.succeed("loadtest http://lab/ --backends 3 -n 400 -c 20 -H 'X-Key: k{n%20}' --expect sticky")'';

  vm-random = labTest "random" {
    method = "random";
  } ''client.succeed("loadtest http://lab/ --backends 3 -n 3000 -c 30 --expect uniform")'';

  # random two least_conn: every backend used, none beyond its two-in-three chance of being in the
  # pair. Not uniform once backends are unequally busy (crates/lblab/tests/it/distribution.rs).
  vm-random-two = labTest "random-two" {
    method = "random-two";
  } ''client.succeed("loadtest http://lab/ --backends 3 -n 3000 -c 30 --expect backends=3 --expect max-share:1=67% --expect max-share:2=67% --expect max-share:3=67%")'';

  # Another method by switch-to-configuration: nginx is reloaded, the backends keep their PIDs,
  # a load test running across the switch sees no failed request, the next one follows ip_hash.
  vm-switch = pkgs.testers.runNixOSTest {
    name = "lblab-switch";
    nodes = {
      lab =
        { lib, ... }:
        {
          imports = [ (labNode { method = "round-robin"; }) ];
          specialisation.ip-hash.configuration.services.lblab.method = lib.mkForce "ip-hash";
        };
      client = clientNode;
    };
    testScript = ready + ''
      import time

      # As nixpkgs' own nginx test: switch-to-configuration before multi-user.target is reached
      # races with the units still starting.
      lab.wait_for_unit("multi-user.target")
      client.succeed("loadtest http://lab/ --backends 3 -n 300 -c 30 --expect round-robin")
      backends = {i: main_pid(f"lblab-backend-{i}.service") for i in (1, 2, 3)}
      nginx = main_pid("nginx.service")

      # One connection per request (--no-keep-alive): an idle keep-alive connection that an old
      # nginx worker closes as it retires could race with the client's next request on it.
      client.succeed(
          # The driver runs commands under `set -e`: `|| rc=$?` keeps a failing loadtest from
          # ending the subshell before it writes its status.
          "(rc=0; loadtest http://lab/ --backends 3 -d 10s -c 20 --no-keep-alive --json"
          " > /tmp/across.json || rc=$?; echo $rc > /tmp/across.rc) > /tmp/across.log 2>&1 &"
      )
      time.sleep(3)
      lab.succeed("/run/booted-system/specialisation/ip-hash/bin/switch-to-configuration test")
      client.wait_until_succeeds("test -s /tmp/across.rc", timeout=60)
      rc = client.succeed("cat /tmp/across.rc").strip()
      assert rc == "0", "requests failed across the switch:\n" + client.succeed(
          "cat /tmp/across.json /tmp/across.log"
      )

      assert {i: main_pid(f"lblab-backend-{i}.service") for i in (1, 2, 3)} == backends, (
          "a backend was restarted by the switch"
      )
      assert main_pid("nginx.service") == nginx, "nginx was restarted, not reloaded"
      lab.succeed("grep -q 'ip_hash;' /etc/nginx/nginx.conf")
      # [d]: the pattern must not match the command line of the shell that runs pgrep.
      lab.wait_until_fails("pgrep -f 'nginx: worker process is shutting [d]own'")
      client.succeed("loadtest http://lab/ --backends 3 -n 300 -c 30 --expect one")
    '';
  };

  # Several clients, each alone in its /24 (ip_hash keys on the first three octets of IPv4):
  # each sticks to one backend, run after run, and together they use more than one backend.
  vm-multi-client = pkgs.testers.runNixOSTest {
    name = "lblab-multi-client";
    nodes = {
      lab = {
        imports = [ (labNode { method = "ip-hash"; }) ];
        virtualisation.vlans = [
          1
          2
          3
        ];
      };
      client1 = {
        imports = [ clientNode ];
        virtualisation.vlans = [ 1 ];
      };
      client2 = {
        imports = [ clientNode ];
        virtualisation.vlans = [ 2 ];
      };
      client3 = {
        imports = [ clientNode ];
        virtualisation.vlans = [ 3 ];
      };
    };
    testScript =
      { nodes, ... }:
      let
        # The lab's address on vlan N is 192.168.N.<its node number>.
        labNumber = toString nodes.lab.virtualisation.test.nodeNumber;
      in
      ''
        import json

        start_all()
        lab.wait_for_unit("nginx.service")
        lab.wait_for_open_port(80)

        urls = {
            client1: "http://192.168.1.${labNumber}/",
            client2: "http://192.168.2.${labNumber}/",
            client3: "http://192.168.3.${labNumber}/",
        }


        def backend(machine, url):
            out = machine.succeed(f"loadtest {url} --backends 3 -n 100 -c 10 --expect one --json")
            return [b for b, n in json.loads(out)["counts"].items() if n > 0]


        chosen = {}
        for machine, url in urls.items():
            machine.wait_for_unit("multi-user.target")
            machine.wait_until_succeeds(f"loadtest {url} -n 3 -c 1")
            first = backend(machine, url)
            again = backend(machine, url)
            assert first == again and len(first) == 1, f"{machine.name}: {first}, then {again}"
            chosen[machine.name] = first[0]
        print(f"backend of each client: {chosen}")
        assert len(set(chosen.values())) >= 2, f"ip_hash sent every client to one backend: {chosen}"
      '';
  };

  # Three client machines load one round-robin lab at the same time, each writing its --json
  # report; one client merges the three (loadtest merge) and the whole is asserted: every request
  # counted once, exactly round-robin over all of them, the slowest request the slowest of the three.
  vm-merge = pkgs.testers.runNixOSTest {
    name = "lblab-merge";
    nodes = {
      lab = labNode { method = "round-robin"; };
      client1 = clientNode;
      client2 = clientNode;
      client3 = clientNode;
    };
    testScript = ''
      import base64
      import json

      start_all()
      lab.wait_for_unit("nginx.service")
      lab.wait_for_open_port(80)
      clients = [client1, client2, client3]
      for c in clients:
          c.wait_for_unit("multi-user.target")
          c.wait_until_succeeds("loadtest http://lab/ -n 3 -c 1")
      # 2700 answers in all: whichever backend the lab's round-robin starts at, 900 each.
      for c in clients:
          c.succeed(
              "(rc=0; loadtest http://lab/ --backends 3 -n 900 -c 10 --json > /tmp/part.json"
              " || rc=$?; echo $rc > /tmp/part.rc) > /tmp/part.log 2>&1 &"
          )
      parts = []
      for i, c in enumerate(clients, 1):
          c.wait_until_succeeds("test -s /tmp/part.rc", timeout=120)
          rc = c.succeed("cat /tmp/part.rc").strip()
          assert rc == "0", f"client{i} failed: " + c.succeed("cat /tmp/part.log")
          text = c.succeed("cat /tmp/part.json")
          parts.append(json.loads(text))
          encoded = base64.b64encode(text.encode()).decode()
          client1.succeed(f"echo {encoded} | base64 -d > /tmp/client{i}.json")

      merged = json.loads(
          client1.succeed(
              "loadtest merge /tmp/client1.json /tmp/client2.json /tmp/client3.json"
              " --backends 3 --expect round-robin --expect errors=0 --json"
          )
      )
      print(f"merged counts {merged['counts']}, latency {merged['latency_ms']}")
      assert merged["requests"] == 2700 and merged["ok"] == 2700, merged["requests"]
      assert merged["counts"] == {"1": 900, "2": 900, "3": 900}, merged["counts"]
      assert [s["file"] for s in merged["sources"]] == [f"/tmp/client{i}.json" for i in (1, 2, 3)]
      for b in ("1", "2", "3"):
          assert merged["counts"][b] == sum(p["counts"][b] for p in parts), b
      slowest = max(p["latency_ms"]["max"] for p in parts)
      assert merged["latency_ms"]["max"] == slowest, (merged["latency_ms"], slowest)
      assert all(e["ok"] for e in merged["expectations"]), merged["expectations"]
    '';
  };

  # Backend 2 killed with SIGKILL during a load test: nginx retries its requests on the others
  # (no failed request), systemd restarts it, and after fail_timeout it gets traffic again.
  vm-failover = labTest "failover" { method = "round-robin"; } ''
    import time

    client.succeed(
        "(rc=0; loadtest http://lab/ --backends 3 -d 10s -c 50 --json > /tmp/failover.json"
        " || rc=$?; echo $rc > /tmp/failover.rc) > /tmp/failover.log 2>&1 &"
    )
    time.sleep(3)
    killed = main_pid("lblab-backend-2.service")
    lab.succeed("systemctl kill -s KILL lblab-backend-2.service")
    lab.wait_until_succeeds(
        "pid=$(systemctl show -p MainPID --value lblab-backend-2.service);"
        f" [ $pid != 0 ] && [ $pid != {killed} ]"
    )
    lab.wait_for_unit("lblab-backend-2.service")
    client.wait_until_succeeds("test -s /tmp/failover.rc", timeout=60)
    rc = client.succeed("cat /tmp/failover.rc").strip()
    assert rc == "0", "requests failed while backend 2 was down:\n" + client.succeed(
        "cat /tmp/failover.json /tmp/failover.log"
    )
    restarts = lab.succeed("systemctl show -p NRestarts --value lblab-backend-2.service").strip()
    assert restarts == "1", f"NRestarts={restarts}"

    time.sleep(3)
    client.succeed(
        "loadtest http://lab/ --backends 3 -n 300 -c 30 --expect backends=3 --expect min-share:2=25%"
    )

    # SIGTERM: the backend stops accepting, finishes what it has, and exits 0.
    lab.succeed("systemctl stop lblab-backend-3.service")
    status = lab.succeed("systemctl show -p ExecMainStatus --value lblab-backend-3.service").strip()
    assert status == "0", f"lblab-backend-3 exited {status} on SIGTERM"
  '';

  # The dashboard in a real browser, from another machine: lab runs `lblab up --dashboard` (the
  # runner's own lab: its nginx and backends, which the dashboard drives), and client's headless
  # Chromium (checks/browser.py, over the DevTools protocol) sees each backend's own /stats count,
  # and switches the method with a mouse click; nginx's master and the backends keep their PIDs.
  # The dashboard tests of `cargo test` do the same on one machine; the package's checkPhase
  # leaves them out, as a package build has no browser, so this is where Nix runs them.
  vm-dashboard = pkgs.testers.runNixOSTest {
    name = "lblab-dashboard";
    nodes = {
      lab = {
        environment.systemPackages = [
          lblab
          pkgs.nginx
        ];
        networking.firewall.allowedTCPPorts = [ 8081 ];
      };
      client = {
        environment.systemPackages = [
          (pkgs.writeScriptBin "lblab-browser" (
            "#!${pkgs.python3}/bin/python3\n" + builtins.readFile ./browser.py
          ))
          pkgs.chromium
        ];
        # Chromium wants more than the default 1 GiB.
        virtualisation.memorySize = 2048;
      };
    };
    testScript =
      { nodes, ... }:
      let
        labAddress = "192.168.1.${toString nodes.lab.virtualisation.test.nodeNumber}";
      in
      ''
        import json
        import re

        start_all()
        lab.wait_for_unit("multi-user.target")
        client.wait_for_unit("multi-user.target")
        lab.succeed(
            "systemd-run --unit lblab-up --property StandardOutput=file:/run/lblab-up.out "
            + "--property StandardError=file:/run/lblab-up.err "
            + "lblab up --listen 127.0.0.1:8080 --dashboard ${labAddress}:8081 --dashboard-public"
        )
        lab.wait_until_succeeds("grep -q '^Switch with' /run/lblab-up.out", timeout=60)
        printed = lab.succeed("cat /run/lblab-up.out")
        found = re.search(r"dashboard (http://\S+)", printed)
        assert found is not None, f"no dashboard URL in:\n{printed}"
        url = found.group(1)


        def status():
            return json.loads(lab.succeed("lblab status --json"))


        def pids(s):
            return [s["nginx_pid"]] + [b["pid"] for b in s["backends"]]


        # Seven answers: 3/2/2, so a page that showed anything but the backends' own counts differs.
        lab.succeed("loadtest http://127.0.0.1:8080/ -n 7 -c 1")
        before = status()
        served = [
            json.loads(lab.succeed(f"curl -sf http://{b['addr']}/stats"))["served"] for b in before["backends"]
        ]
        assert served == [3, 2, 2], f"served {served}"

        steps = [f"wait:#backend-{i + 1}-served={n}" for i, n in enumerate(served)]
        steps += ["text:#current-method", "click:#method-least-conn", "wait:#current-method=least-conn"]
        shown = json.loads(client.succeed("lblab-browser " + " ".join(f"'{x}'" for x in [url] + steps)))
        print(f"the browser saw: {shown}")
        assert shown[3] == "round-robin", f"method before the click: {shown[3]}"

        after = status()
        assert after["method"] == "least-conn", f"lblab status after the click: {after['method']}"
        assert pids(after) == pids(before), f"restarted: {pids(before)} -> {pids(after)}"
        lab.succeed("systemctl stop lblab-up")
      '';
  };

  # Past one machine: lab2 runs two more backends on 0.0.0.0 with the firewall open, and lab's
  # nginx reaches them through extraUpstreams. Backend ids repeat across machines, so each
  # backend's own /stats count says who served what: round-robin gives all five the same share.
  # lab2 is named by its IPv4 address: the test network also puts each node's IPv6 address in
  # /etc/hosts, and by host name nginx would gain peers on which lab2's IPv4-only backends refuse.
  vm-two-labs = pkgs.testers.runNixOSTest {
    name = "lblab-two-labs";
    nodes = {
      lab =
        { nodes, ... }:
        labNode {
          method = "round-robin";
          extraUpstreams = map (port: "${nodes.lab2.networking.primaryIPAddress}:${toString port}") [
            8001
            8002
          ];
        };
      lab2 = labNode {
        backends = 2;
        address = "0.0.0.0";
      };
      client = clientNode;
    };
    testScript = ''
      import json

      start_all()
      for i in (1, 2):
          lab2.wait_for_unit(f"lblab-backend-{i}.service")
          lab2.wait_for_open_port(8000 + i)
      lab.wait_for_unit("nginx.service")
      lab.wait_for_open_port(80)
      client.wait_for_unit("multi-user.target")
      client.wait_until_succeeds("loadtest http://lab/ -n 5 -c 1")


      def served():
          counts = {}
          for i in (1, 2, 3):
              stats = lab.succeed(f"curl -sf http://127.0.0.1:{8000 + i}/stats")
              counts[f"lab/{i}"] = json.loads(stats)["served"]
          for i in (1, 2):
              stats = client.succeed(f"curl -sf http://lab2:{8000 + i}/stats")
              counts[f"lab2/{i}"] = json.loads(stats)["served"]
          return counts


      before = served()
      client.succeed("loadtest http://lab/ -n 500 -c 25")
      after = served()
      delta = {b: after[b] - before[b] for b in after}
      print(f"served by each of the five backends: {delta}")
      assert delta == {b: 100 for b in delta}, f"not 100 each: {delta}"
    '';
  };

  # HAProxy in front instead of nginx (services.lblab.proxy = "haproxy"): round-robin exact,
  # leastconn away from a slow backend, source sticky, first filling backend 1 to its maxconn,
  # and a new method by HAProxy's reload with the backends untouched.
  # The frontend binds where nginx's would: over IPv6 too (the lab's own loopback, ::1).
  vm-haproxy-round-robin = haproxyTest "round-robin" { method = "roundrobin"; } ''
    client.succeed("loadtest http://lab/ --backends 3 -n 300 -c 30 --expect round-robin")
    lab.succeed("loadtest 'http://[::1]/' --backends 3 -n 30 -c 3 --expect round-robin")
  '';

  vm-haproxy-leastconn = haproxyTest "leastconn" {
    method = "leastconn";
    backendDelay = {
      "1" = 50;
    };
  } ''client.succeed("loadtest http://lab/ --backends 3 -n 2000 -c 100 --expect max-share:1=15%")'';

  # One client address: HAProxy's source sends all of it to one backend, run after run.
  vm-haproxy-source = haproxyTest "source" { method = "source"; } ''
    import json

    first = json.loads(client.succeed("loadtest http://lab/ --backends 3 -n 300 -c 30 --expect one --json"))
    again = json.loads(client.succeed("loadtest http://lab/ --backends 3 -n 300 -c 30 --expect one --json"))
    assert first["counts"] == again["counts"], f"the client moved: {first['counts']} then {again['counts']}"
  '';

  # Two requests at once fit in backend 1's maxconn of 2: it answers them all.
  vm-haproxy-first = haproxyTest "first" {
    method = "first";
    maxconn = 2;
    backendDelay = 10;
  } ''client.succeed("loadtest http://lab/ --backends 3 -n 200 -c 2 --expect one --expect min-share:1=100%")'';

  vm-haproxy-switch = pkgs.testers.runNixOSTest {
    name = "lblab-haproxy-switch";
    nodes = {
      lab =
        { lib, ... }:
        {
          imports = [
            (labNode {
              proxy = "haproxy";
              method = "roundrobin";
            })
          ];
          specialisation.source.configuration.services.lblab.method = lib.mkForce "source";
        };
      client = clientNode;
    };
    testScript = readyHaproxy + ''
      lab.wait_for_unit("multi-user.target")
      client.succeed("loadtest http://lab/ --backends 3 -n 300 -c 30 --expect round-robin")
      backends = {i: main_pid(f"lblab-backend-{i}.service") for i in (1, 2, 3)}
      haproxy = main_pid("haproxy.service")
      lab.succeed("/run/booted-system/specialisation/source/bin/switch-to-configuration test")
      assert {i: main_pid(f"lblab-backend-{i}.service") for i in (1, 2, 3)} == backends, (
          "a backend was restarted by the switch"
      )
      assert main_pid("haproxy.service") == haproxy, "haproxy was restarted, not reloaded"
      lab.succeed("grep -q 'balance source' /etc/haproxy.cfg")
      client.wait_until_succeeds("loadtest http://lab/ --backends 3 -n 300 -c 30 --expect one", timeout=30)
    '';
  };
}
