# `ringmta route` and `ringmta check-config` as an operator runs them, against config files
# written here: the JSON shape of INTERFACE.md, Exchange's selection rules seen through the CLI
# (exact, *.parent, *, cost and name ties, size limits, accepted domains), next hops, exit codes
# (0 ok, 1 bad config or no route, 2 usage) and check-config's conflict warnings. No gateway is
# started: both commands only read the config.
import json
import os
import subprocess

import pytest

from conftest import DEFAULT_BIN

ROUTE_KEYS = {"connector", "address_space", "cost", "next_hops", "candidates"}
CANDIDATE_KEYS = {"connector", "address_space", "cost", "lost_because"}


def ringmta_bin():
    path = os.environ.get("RINGMTA_BIN", DEFAULT_BIN)
    if not os.access(path, os.X_OK):
        pytest.skip("ringmta binary not found at %s (set RINGMTA_BIN)" % path)
    return path


def run(*args):
    p = subprocess.run([ringmta_bin(), *args], capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def connector(name, spaces, hosts=None, **extra):
    """A connector relaying to `hosts` (DNS routing when None)."""
    c = {"name": name, "address_spaces": list(spaces)}
    if hosts is None:
        c["dns_routing"] = True
    else:
        c["smart_hosts"] = list(hosts)
    c.update(extra)
    return c


def write_config(tmp_path, connectors, accepted=(), name="routes.json"):
    config = {
        "server": {"hostname": "gw.test.example", "spool_dir": str(tmp_path / "spool")},
        "listeners": [{"address": "127.0.0.1:2525"}],
        "connectors": list(connectors),
    }
    if accepted:
        config["accepted_domains"] = [
            {"domain": d, "type": "authoritative", "connector": c} for d, c in accepted]
    path = tmp_path / name
    path.write_text(json.dumps(config, indent=2))
    return str(path)


def route_json(config, address, size=None):
    """(exit code, parsed JSON) of `ringmta route ADDRESS --json`."""
    args = ["route", address, "--json", "-c", config]
    if size is not None:
        args += ["--size", str(size)]
    rc, out, err = run(*args)
    assert out.endswith("\n") and out.count("\n") == 1, "want one JSON line, got %r" % out
    try:
        answer = json.loads(out)
    except ValueError:
        pytest.fail("route %s: not JSON: %r (stderr %r)" % (address, out, err))
    check_shape(answer)
    return rc, answer


def check_shape(answer):
    """Exactly the keys and types INTERFACE.md promises."""
    assert set(answer) == ROUTE_KEYS, "got keys %s, want %s" % (sorted(answer), sorted(ROUTE_KEYS))
    found = answer["connector"] is not None
    assert isinstance(answer["connector"], str) or not found
    assert (isinstance(answer["address_space"], str) if found else answer["address_space"] is None)
    assert (type(answer["cost"]) is int if found else answer["cost"] is None)
    assert isinstance(answer["next_hops"], list)
    assert all(isinstance(h, str) for h in answer["next_hops"])
    assert found or answer["next_hops"] == []
    assert isinstance(answer["candidates"], list)
    for c in answer["candidates"]:
        assert set(c) == CANDIDATE_KEYS, "candidate keys %s, want %s" % (sorted(c),
                                                                       sorted(CANDIDATE_KEYS))
        assert isinstance(c["connector"], str) and isinstance(c["address_space"], str)
        assert type(c["cost"]) is int and isinstance(c["lost_because"], str)
        assert c["lost_because"], "a candidate without a reason: %r" % c


def chosen(answer):
    return (answer["connector"], answer["address_space"], answer["cost"])


def losers(answer):
    return [(c["connector"], c["address_space"], c["cost"]) for c in answer["candidates"]]


# ---------------------------------------------------------------- specificity

LAYERS = [
    connector("exact", ["sub.example.com"], ["[192.0.2.10]:25"]),
    connector("parent", ["*.example.com;5"], ["relay1.example.net:2525", "relay2.example.net"]),
    connector("star", ["*;10"], ["[192.0.2.7]:25"]),
]

SPECIFICITY_CASES = [
    # label, address, want (connector, space as written, cost), want losers best first
    ("exact beats *.parent and *", "user@sub.example.com", ("exact", "sub.example.com", 1),
     [("parent", "*.example.com;5", 5), ("star", "*;10", 10)]),
    ("*.parent beats *", "user@other.example.com", ("parent", "*.example.com;5", 5),
     [("star", "*;10", 10)]),
    ("*.parent covers its apex", "user@example.com", ("parent", "*.example.com;5", 5),
     [("star", "*;10", 10)]),
    ("*.parent covers deep subdomains", "a@x.y.sub.example.com",
     ("parent", "*.example.com;5", 5), [("star", "*;10", 10)]),
    ("* takes the rest", "user@example.org", ("star", "*;10", 10), []),
    ("same ending letters are not a subdomain", "user@badexample.com", ("star", "*;10", 10), []),
    ("case, brackets and a trailing dot", "<User@SUB.Example.COM.>",
     ("exact", "sub.example.com", 1), [("parent", "*.example.com;5", 5), ("star", "*;10", 10)]),
    ("bare domain", "sub.example.com", ("exact", "sub.example.com", 1),
     [("parent", "*.example.com;5", 5), ("star", "*;10", 10)]),
    ("address literal only matches *", "user@[192.0.2.99]", ("star", "*;10", 10), []),
]


@pytest.mark.parametrize("label,address,want,want_losers", SPECIFICITY_CASES,
                         ids=[c[0] for c in SPECIFICITY_CASES])
def test_most_specific_space_wins(tmp_path, label, address, want, want_losers):
    rc, answer = route_json(write_config(tmp_path, LAYERS), address)
    assert rc == 0, "%s: exit %d, want 0" % (label, rc)
    assert chosen(answer) == want, "%s: got %s, want %s" % (label, chosen(answer), want)
    assert losers(answer) == want_losers, "%s: candidates got %s, want %s" % (
        label, losers(answer), want_losers)
    for c in answer["candidates"]:
        assert c["lost_because"].startswith("less specific than"), c


def test_next_hops_are_the_winners_smart_hosts(tmp_path):
    config = write_config(tmp_path, LAYERS + [connector("mx", ["*.mx.example"])])
    _, parent = route_json(config, "a@other.example.com")
    assert parent["next_hops"] == ["relay1.example.net:2525", "relay2.example.net:25"]
    _, exact = route_json(config, "a@sub.example.com")
    assert exact["next_hops"] == ["[192.0.2.10]:25"]
    _, mx = route_json(config, "a@Mail.MX.example")
    assert mx["next_hops"] == ["MX mail.mx.example:25"], "DNS routing resolves the domain's MX"


def test_text_output_names_the_route_and_the_losers(tmp_path):
    rc, out, err = run("route", "user@sub.example.com", "-c", write_config(tmp_path, LAYERS))
    assert rc == 0, err
    assert "connector:     exact\n" in out, out
    assert "address space sub.example.com (cost 1)" in out, out
    assert "[192.0.2.10]:25" in out, out
    assert "parent  *.example.com;5 (cost 5): less specific than" in out, out


# ---------------------------------------------------------------- cost and name ties

def test_lower_cost_wins_among_equal_spaces(tmp_path):
    config = write_config(tmp_path, [
        connector("b-partner", ["*.partner.example;5"], ["[192.0.2.21]"]),
        connector("a-partner", ["SMTP:*.partner.example;5"], ["[192.0.2.22]"]),
        connector("c-partner", ["*.partner.example;3"], ["[192.0.2.23]"]),
    ])
    rc, answer = route_json(config, "x@mail.partner.example")
    assert rc == 0
    assert chosen(answer) == ("c-partner", "*.partner.example;3", 3)
    assert losers(answer) == [("a-partner", "SMTP:*.partner.example;5", 5),
                              ("b-partner", "*.partner.example;5", 5)]
    assert all(c["lost_because"] == "cost 5 is higher than 3" for c in answer["candidates"]), \
        answer["candidates"]


def test_equal_cost_goes_to_the_first_name_and_check_config_warns(tmp_path):
    config = write_config(tmp_path, [
        connector("b-partner", ["*.partner.example;5"], ["[192.0.2.21]"]),
        connector("a-partner", ["*.partner.example;5"], ["[192.0.2.22]"]),
    ])
    for attempt in range(2):   # deterministic: no load balancing between equal connectors
        rc, answer = route_json(config, "x@partner.example")
        assert chosen(answer) == ("a-partner", "*.partner.example;5", 5), attempt
    assert answer["candidates"][0]["lost_because"] == \
        'same cost; connector "a-partner" sorts first by name'

    rc, out, err = run("check-config", "-c", config)
    assert rc == 0, "warnings do not fail check-config: exit %d, %s" % (rc, err)
    warnings = [l for l in out.splitlines() if ": warning: " in l]
    assert len(warnings) == 1, out
    assert warnings[0].startswith(config + ": warning: connectors[0].address_spaces[0]: ")
    assert "never gets this mail" in warnings[0] and '"b-partner"' in warnings[0], warnings[0]
    assert out.splitlines()[-1].startswith(config + ": ok"), out


def test_cost_never_beats_specificity(tmp_path):
    config = write_config(tmp_path, [
        connector("cheap", ["*.example.com;1"], ["[192.0.2.31]"]),
        connector("dear", ["sub.example.com;100"], ["[192.0.2.32]"]),
    ])
    _, answer = route_json(config, "a@sub.example.com")
    assert chosen(answer) == ("dear", "sub.example.com;100", 100)


# ---------------------------------------------------------------- message size

SIZED = [
    connector("small", ["*.example.com"], ["[192.0.2.41]"], max_message_size=1000),
    connector("star", ["*;10"], ["[192.0.2.7]:25"]),
]

SIZE_CASES = [
    # size, want connector, reason the small connector lost (None when it won)
    (None, "small", None),
    (1000, "small", None),
    (1001, "star", "message size 1001 exceeds max_message_size 1000"),
    (50000000, "star", "message size 50000000 exceeds max_message_size 1000"),
]


@pytest.mark.parametrize("size,want,reason", SIZE_CASES, ids=[str(c[0]) for c in SIZE_CASES])
def test_size_filter_moves_a_big_message_to_star(tmp_path, size, want, reason):
    rc, answer = route_json(write_config(tmp_path, SIZED), "a@x.example.com", size)
    assert rc == 0
    assert answer["connector"] == want, "size %s: got %s, want %s" % (size, answer["connector"],
                                                                      want)
    if reason is not None:
        small = [c for c in answer["candidates"] if c["connector"] == "small"]
        assert small and small[0]["lost_because"] == reason, answer["candidates"]


def test_too_large_for_every_connector_is_no_route(tmp_path):
    config = write_config(tmp_path, [connector("small", ["*"], ["[192.0.2.41]"],
                                               max_message_size=1000)])
    rc, answer = route_json(config, "a@example.org", 5000)
    assert rc == 1, "no route exits 1"
    assert chosen(answer) == (None, None, None)
    assert answer["next_hops"] == []
    assert losers(answer) == [("small", "*", 1)]


# ---------------------------------------------------------------- accepted domains

ACCEPTED_CONNECTORS = [
    connector("to-exchange", [], ["[192.0.2.5]:25"]),
    connector("star", ["*;10"], ["[192.0.2.7]:25"]),
    connector("partner", ["mail.corp.example"], ["[192.0.2.51]"]),
]
ACCEPTED = [("example.com", "to-exchange"), ("*.corp.example", "to-exchange")]


@pytest.mark.parametrize("address,want", [
    ("user@example.com", ("to-exchange", "example.com", 0)),
    ("user@a.b.corp.example", ("to-exchange", "*.corp.example", 0)),
    ("user@mail.corp.example", ("to-exchange", "*.corp.example", 0)),   # beats an exact space
    ("user@sub.example.com", ("star", "*;10", 10)),   # exact accepted domain: only itself
])
def test_accepted_domains_go_to_their_connector(tmp_path, address, want):
    config = write_config(tmp_path, ACCEPTED_CONNECTORS, ACCEPTED)
    rc, answer = route_json(config, address)
    assert rc == 0
    assert chosen(answer) == want, "%s: got %s, want %s" % (address, chosen(answer), want)
    if want[0] == "to-exchange":
        assert answer["next_hops"] == ["[192.0.2.5]:25"]
        for c in answer["candidates"]:
            assert "accepted domains never use address spaces" in c["lost_because"], c


@pytest.mark.parametrize("disable,size", [(True, None), (False, 5000)],
                         ids=["connector disabled", "message too large"])
def test_accepted_domain_never_falls_back_to_star(tmp_path, disable, size):
    connectors = json.loads(json.dumps(ACCEPTED_CONNECTORS))
    connectors[0]["enabled"] = not disable
    connectors[0]["max_message_size"] = 1000
    rc, answer = route_json(write_config(tmp_path, connectors, ACCEPTED), "user@example.com",
                            size)
    assert rc == 1, "an accepted domain with no usable connector has no route"
    assert answer["connector"] is None, "got %s, want no route (never *)" % answer["connector"]
    star = [c for c in answer["candidates"] if c["connector"] == "star"]
    assert star and "accepted domains never use address spaces" in star[0]["lost_because"]


def test_check_config_warns_about_accepted_domain_conflicts(tmp_path):
    connectors = json.loads(json.dumps(ACCEPTED_CONNECTORS))
    connectors[0]["enabled"] = False
    config = write_config(tmp_path, connectors, ACCEPTED)
    rc, out, err = run("check-config", "-c", config)
    assert rc == 0, err
    warnings = [l for l in out.splitlines() if ": warning: " in l]
    want = [
        ('connectors[2].address_spaces[0]: "mail.corp.example" is shadowed by accepted domain '
         '"*.corp.example" (accepted_domains[1])'),
        ('accepted_domains[0].connector: connector "to-exchange" is disabled; mail for '
         '"example.com" has no route'),
        ('accepted_domains[1].connector: connector "to-exchange" is disabled; mail for '
         '"*.corp.example" has no route'),
    ]
    for w in want:
        assert any(l.startswith(config + ": warning: " + w) for l in warnings), \
            "no warning %r in:\n%s" % (w, out)
    assert len(warnings) == len(want), out


def test_idn_recipient_matches_a_label_space(tmp_path):
    config = write_config(tmp_path, [connector("idn", ["*.xn--bcher-kva.example"],
                                               ["[192.0.2.61]"]),
                                     connector("star", ["*"], ["[192.0.2.7]"])])
    _, answer = route_json(config, "kunde@shop.b\u00fccher.example")
    assert chosen(answer) == ("idn", "*.xn--bcher-kva.example", 1)


# ---------------------------------------------------------------- exit codes

def test_invalid_recipient_domain_is_no_route(tmp_path):
    rc, answer = route_json(write_config(tmp_path, LAYERS), "user@a..example.com")
    assert rc == 1
    assert chosen(answer) == (None, None, None) and answer["candidates"] == []


def test_bad_routing_config_one_line_per_error(tmp_path):
    config = write_config(tmp_path, [
        connector("a", ["*contoso.com"], ["[192.0.2.1]"]),
        {"name": "b", "address_spaces": ["x.example"]},            # neither hosts nor DNS
        connector("c", ["X400:c=US;a= ;p=Org", "*.x.example", "SMTP:*.X.example;5"],
                  ["[192.0.2.3]"]),
    ], [("example.com", "nowhere")])
    # The whole line where it matters: the INTERFACE.md text, then the connector's name.
    want = [
        'connectors[0].address_spaces[0]: "*contoso.com" is not a valid address space '
        '(use "*.contoso.com" or "contoso.com") [connector "a"]',
        "connectors[1].smart_hosts: ",
        "connectors[2].address_spaces[0]: ",
        'connectors[2].address_spaces[2]: "SMTP:*.X.example;5" repeats address_spaces[1] '
        '("*.x.example") [connector "c"]',
        'accepted_domains[0].connector: "nowhere" is not the name of a connector',
    ]
    for args in (["check-config", "-c", config], ["route", "a@example.com", "-c", config]):
        rc, out, err = run(*args)
        assert rc == 1, "%s: exit %d, want 1" % (args[0], rc)
        assert out == "", "%s: nothing on stdout for a bad config, got %r" % (args[0], out)
        lines = err.splitlines()
        assert len(lines) == len(want), "%s: want %d lines, got:\n%s" % (args[0], len(want), err)
        for line, w in zip(lines, want):
            assert line.startswith(config + ": " + w), "%s: got %r, want %r" % (
                args[0], line, config + ": " + w)


def test_check_config_warns_about_metrics_off_loopback(tmp_path):
    config = write_config(tmp_path, [connector("star", ["*"], ["[192.0.2.7]"])])
    with open(config) as f:
        doc = json.load(f)
    for address, warns in (("0.0.0.0:9025", True), ("127.0.0.1:9025", False)):
        doc["metrics"] = {"address": address}
        with open(config, "w") as f:
            json.dump(doc, f)
        rc, out, err = run("check-config", "-c", config)
        assert rc == 0, "a warning does not fail check-config: exit %d, %s" % (rc, err)
        lines = out.splitlines()
        want = [config + ': warning: metrics.address: "0.0.0.0:9025" is reachable from the '
                "network and the metrics endpoint has no authentication; bind it to a loopback "
                "address or firewall the port"] if warns else []
        assert lines[:-1] == want, out
        assert lines[-1].startswith(config + ": ok"), out


def test_missing_config_file_is_exit_1(tmp_path):
    missing = str(tmp_path / "nope.json")
    for args in (["check-config", "-c", missing], ["route", "a@example.com", "-c", missing]):
        rc, out, err = run(*args)
        assert rc == 1, "%s: exit %d" % (args[0], rc)
        assert err.startswith(missing + ": "), err


@pytest.mark.parametrize("args", [
    ["route"],
    ["route", "a@example.com", "b@example.com"],
    ["route", "a@example.com", "--size"],
    ["route", "a@example.com", "--size", "big"],
    ["route", "a@example.com", "--size", "-5"],
    ["route", "a@example.com", "--bogus"],
    ["route", "a@example.com", "-c"],
], ids=["no address", "two addresses", "size without value", "size not a number",
        "negative size", "unknown option", "-c without file"])
def test_usage_errors_exit_2(tmp_path, args):
    config = write_config(tmp_path, LAYERS)
    full = args + ([] if "-c" in args else ["-c", config])
    rc, out, err = run(*full)
    assert rc == 2, "%s: exit %d, want 2" % (" ".join(args), rc)
    assert out == "", out
    assert err.startswith("ringmta: ") and "usage:" in err, err


def test_check_config_refuses_unreadable_connector_files(tmp_path):
    """A CA file or password file that cannot be read is a config error now, naming the key
    and the connector, not a deferral at the first delivery attempt hours later."""
    ca = tmp_path / "ca.pem"
    ca.write_text("placeholder\n")
    missing = str(tmp_path / "missing.pass")
    good = connector("pgp", ["*"], ["127.0.0.1:2526"],
                     tls={"mode": "verify", "ca_file": str(ca)})
    bad = connector("partner", ["partner.example"], ["127.0.0.1:2527"],
                    auth={"username": "gw", "password_file": missing})
    config = write_config(tmp_path, [good, bad])
    rc, out, err = run("check-config", "-c", config)
    assert rc == 1, (rc, out, err)
    want = ('%s: connectors[1].auth.password_file: cannot read "%s": No such file or directory '
            '[connector "partner"]' % (config, missing))
    assert err.splitlines() == [want], err
    open(missing, "w").write("secret\n")
    rc, out, err = run("check-config", "-c", config)
    assert rc == 0, err
