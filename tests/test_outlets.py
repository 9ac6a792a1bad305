import json
import sqlite3

import pytest

from crawler.exceptions import OutletsFileError
from crawler.outlets import Scope, load_outlets_file

GOOD = """
[[outlet]]
name = "north"
home = "http://127.0.0.11:8001/"
feeds = ["http://127.0.0.11:8001/rss.xml"]
sitemaps = ["http://127.0.0.11:8001/sitemap.xml"]
sections = ["http://127.0.0.11:8001/world/"]
language = "en"
country = "GB"
max_pages = 50

[[outlet]]
name = "south"
home = "https://south.example/news"
aliases = ["The South Times"]

[[outlet]]
name = "intranet"
home = "http://wiki.corp.example/"
allow_addresses = ["10.20.0.0/16", "fd12:3456::/32", "192.168.7.9"]
"""


def write(tmp_path, text):
    p = tmp_path / "outlets.toml"
    p.write_text(text)
    return p


def test_valid_file(tmp_path):
    north, south, intranet = load_outlets_file(write(tmp_path, GOOD))
    assert north.name == "north" and north.max_pages == 50
    assert north.feeds == ("http://127.0.0.11:8001/rss.xml",)
    assert north.scope == Scope("http", "127.0.0.11", 8001, "/")
    assert south.scope == Scope("https", "south.example", 443, "/news/")
    assert south.aliases == ("The South Times",)
    # the address guard's allowance for this outlet, as networks (a bare address is its own /32)
    assert north.allow_addresses == south.allow_addresses == ()
    assert intranet.allow_addresses == ("10.20.0.0/16", "fd12:3456::/32", "192.168.7.9/32")


def test_cited_names_resolve_to_outlets(tmp_path):
    from crawler.citations import OutletResolver

    resolver = OutletResolver(load_outlets_file(write(tmp_path, GOOD)))
    assert resolver.outlet_of_name("The South Times") == "south"
    assert resolver.outlet_of_name("the North") == "north"
    assert resolver.outlet_of_name("South.Example") == "south"  # host name
    assert resolver.outlet_of_name("Euronews") is None
    assert resolver.outlet_of_url("https://south.example/news/x") == "south"
    assert resolver.outlet_of_url("https://south.example/other/x") is None


def test_scope_checks_host_port_scheme_and_prefix():
    scope = Scope.from_home("https://south.example/news")
    assert scope.contains("https://south.example/news/2026/a.html")
    assert scope.contains("https://south.example:443/news/")
    assert scope.contains("https://south.example/news")
    assert not scope.contains("https://south.example/newsletter/a.html")
    assert not scope.contains("http://south.example/news/a.html")
    assert not scope.contains("https://south.example:8443/news/a.html")
    assert not scope.contains("https://evil.example/news/a.html")
    assert not scope.contains("https://south.example.evil.example/news/a.html")
    assert scope.same_origin("https://south.example/robots.txt")


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[[outlet]]\nname = "a"\n', "outlet 'a': field 'home' is required"),
        ('[[outlet]]\nname = "a"\nhome = "ftp://x/"\n', "outlet 'a': field 'home': 'ftp://x/' is not an absolute http(s) URL"),
        ('[[outlet]]\nname = "a b"\nhome = "http://x/"\n', "outlet #1: field 'name'"),
        ('[[outlet]]\nname = "a"\nhome = "http://x/"\nfeeds = ["http://y/rss"]\n', "outlet 'a': field 'feeds'[0]: 'http://y/rss' lies outside"),
        ('[[outlet]]\nname = "a"\nhome = "http://x/"\n[[outlet]]\nname = "a"\nhome = "http://y/"\n', "outlet 'a': field 'name' is used by another outlet"),
        ('[[outlet]]\nname = "a"\nhome = "http://x/"\nfeed = ["http://x/rss"]\n', "outlet 'a': unknown field(s) feed"),
        ('[[outlet]]\nname = "a"\nhome = "http://x/"\nlanguage = "English"\n', "outlet 'a': field 'language'"),
        ('[[outlet]]\nname = "a"\nhome = "http://x/"\nmax_pages = 0\n', "outlet 'a': field 'max_pages'"),
        ('[[outlet]]\nname = "a"\nhome = "http://x/"\nallow_addresses = ["10.20.0.5/16"]\n',
         "outlet 'a': field 'allow_addresses': '10.20.0.5/16' is not an IP network like 10.20.0.0/16"),
        ('[[outlet]]\nname = "a"\nhome = "http://x/"\nallow_addresses = ["intranet"]\n',
         "outlet 'a': field 'allow_addresses': 'intranet' is not an IP network"),
        ('[[outlet]]\nname = "a"\nhome = "http://x/"\nallow_addresses = [10]\n',
         "outlet 'a': field 'allow_addresses': 10 is not an IP network"),
        ('[[outlet]]\nname = "a"\nhome = "http://x/"\nallow_addresses = {net = "10.0.0.0/8"}\n',
         "outlet 'a': field 'allow_addresses' must be a list of IP networks"),
        ('[[outlet]\nname = "a"\n', "invalid TOML"),
        ('name = "a"\n', "no [[outlet]] tables found"),
    ],
)
def test_invalid_files_name_file_outlet_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(OutletsFileError) as err:
        load_outlets_file(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_cli_import_and_list(tmp_path, cli):
    db = tmp_path / "n.db"
    r = cli("outlets", "import", db, write(tmp_path, GOOD))
    assert r.returncode == 0, r.stderr
    assert "3 added, 0 updated" in r.stdout
    r = cli("outlets", "import", db, write(tmp_path, GOOD))
    assert "0 added, 3 updated" in r.stdout
    r = cli("outlets", "list", db, "--csv")
    assert r.returncode == 0
    assert r.stdout.splitlines()[0].startswith("name,home,language")
    assert [line.split(",")[0] for line in r.stdout.splitlines()[1:]] == ["intranet", "north", "south"]
    # which outlets have an address allowance, and which networks it opens
    listed = {o["name"]: o for o in json.loads(cli("outlets", "list", db, "--json").stdout)}
    assert listed["intranet"]["allow_addresses"] == "10.20.0.0/16, fd12:3456::/32, 192.168.7.9/32"
    assert listed["north"]["allow_addresses"] is None and listed["south"]["allow_addresses"] is None
    # the allowance goes with the outlet: removed from the file, removed from the database
    r = cli("outlets", "import", db, write(tmp_path, GOOD.replace('allow_addresses = ["10.20.0.0/16", "fd12:3456::/32", "192.168.7.9"]', "")))
    assert r.returncode == 0, r.stderr
    listed = {o["name"]: o for o in json.loads(cli("outlets", "list", db, "--json").stdout)}
    assert listed["intranet"]["allow_addresses"] is None


def test_cli_invalid_file_exits_2_and_writes_nothing(tmp_path, cli):
    db = tmp_path / "n.db"
    bad = GOOD + '\n[[outlet]]\nname = "third"\nhome = "http://z/"\nsitemaps = ["http://other/sitemap.xml"]\n'
    r = cli("outlets", "import", db, write(tmp_path, bad))
    assert r.returncode == 2
    assert "outlet 'third': field 'sitemaps'[0]" in r.stderr
    if db.exists():
        assert sqlite3.connect(db).execute("SELECT count(*) FROM outlets").fetchone()[0] == 0
