"""Issue 16: `lealtad backup` while another process keeps writing accruals, `lealtad restore` into
a fresh database (PostgreSQL: lealtad_backup_restored; SQLite: a new file), and the restored copy
passes ledger-check, counts what the manifest counts, holds the media and serves; and the refusals.

The backup, the writer, the restore, ledger-check and the server are the real `lealtad` commands
in their own processes. The source is the test database (SQLite: copied to a file first, since
the test database is in memory, where no other process can reach it).
"""

import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from lealtad.claims import actions as claims
from lealtad.claims import testing as pictures
from lealtad.coins import actions as coins
from lealtad.core import backup, testing
from lealtad.ledger import actions as ledger
from lealtad.ledger.accrual import accrue_points
from lealtad.network.actions import issue_token
from lealtad.offers.promotions import local_date
from lealtad.program.models import Reward
from lealtad.ratings import actions as ratings
from lealtad.ratings.models import Rating

ROOT = Path(__file__).resolve().parents[3]
PORT = 8680  # this suite's own port (8680–8689)
RESTORED_PG = "lealtad_backup_restored"

pytestmark = pytest.mark.django_db(transaction=True)

WRITER = """
import os, sys, time
from decimal import Decimal
from pathlib import Path
import django
django.setup()
from lealtad.customers.models import Customer
from lealtad.ledger.accrual import accrue_points
from lealtad.network.models import Branch
branch = Branch.objects.select_related("merchant").get(pk=sys.argv[1])
customer = Customer.objects.get(pk=sys.argv[2])
stop, done = Path(sys.argv[3]), 0
while not stop.exists():
    accrue_points(merchant=branch.merchant, branch=branch, customer=customer, amount=Decimal(3000))
    done += 1
    if done == 5:
        print("writing", flush=True)
print(done, flush=True)
"""


def lealtad(*args, env, check=True, timeout=180):
    out = subprocess.run(
        [sys.executable, "-m", "lealtad.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert out.returncode == 0, out.stderr
    return out


def pg_url(name: str) -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "") + (":" + quote(s["PASSWORD"]) if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def count_rows(url: str) -> dict[str, int]:
    """Every table's rows, read straight from the database (not through Lealtad)."""
    if url.startswith("sqlite:"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            tables = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
            return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for (t,) in tables}
        finally:
            db.close()
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as db:
        tables = db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for (t,) in tables}


def maintenance(*statements, url=None):
    import psycopg

    url = url or pg_url("postgres")
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as db:
        for statement in statements:
            db.execute(statement)


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def get(url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=20) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def product_membership(shop, customer):
    return shop.merchant.memberships.select_related("account").get(customer=customer)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.MEDIA_ROOT, settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def product(media):
    """Data made through the product's actions: accruals, a redemption, coins, a rating, a claim
    with its invoice photo (private media) and a prize with its picture (media)."""
    shop = testing.make_merchant(coin_issuer=True, cashback_rate="0.03")
    customer = testing.make_customer(shop).customer
    visits = [
        accrue_points(
            merchant=shop.merchant,
            branch=shop.branch,
            customer=customer,
            amount=Decimal(amount),
            invoice_number=f"B-{n}",
        )
        for n, amount in enumerate(("150000", "42000", "9000"))
    ]
    reward = testing.make_reward(shop, cost=50)
    reward.picture.save("cafe.png", ContentFile(pictures.photo("PNG")), save=True)
    membership = product_membership(shop, customer)
    ledger.redeem_reward(membership=membership, reward_id=reward.pk, branch=shop.branch)
    coins.earn_coins(merchant=shop.merchant, customer=customer, amount=Decimal("25000"))
    ratings.rate_visit(visits[1].transaction, score=9, comment="Muy bien")
    claims.submit_claim(
        customer=customer,
        merchant_id=shop.merchant.pk,
        branch_id=shop.branch.pk,
        invoice_number="F-77",
        amount="25000",
        purchased_on=local_date(shop.merchant, timezone.now()),
        photo=pictures.photo("JPEG"),
    )
    shop.writer = testing.make_customer(shop).customer  # the writer's accruals go to another one
    shop.customer = customer
    shop.token = issue_token(shop.admin)[0]
    return shop


@pytest.fixture
def source(product, media, tmp_path):
    """The environment of a process that works on the test database's data."""
    env = {
        **os.environ,
        "MEDIA_ROOT": str(media[0]),
        "PRIVATE_MEDIA_ROOT": str(media[1]),
        "DJANGO_SETTINGS_MODULE": "lealtad.settings",
    }
    if connection.vendor == "sqlite":
        path = tmp_path / "source.sqlite3"
        connection.ensure_connection()
        copy = sqlite3.connect(path)
        connection.connection.backup(copy)
        copy.execute("PRAGMA journal_mode=WAL")
        copy.close()
        env["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        env["DATABASE_URL"] = pg_url(connection.settings_dict["NAME"])
    return env


@pytest.fixture
def restored(tmp_path):
    """A fresh, empty target: its environment (DATABASE_URL and media folders of its own)."""
    env = {
        **os.environ,
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "restored-private"),
        "DJANGO_SETTINGS_MODULE": "lealtad.settings",
    }
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        yield env
        return
    drop = f"DROP DATABASE IF EXISTS {RESTORED_PG} WITH (FORCE)"
    maintenance(drop, f"CREATE DATABASE {RESTORED_PG}")
    env["DATABASE_URL"] = pg_url(RESTORED_PG)
    yield env
    maintenance(drop)


def backup_while_writing(source, product, tmp_path) -> tuple[Path, dict]:
    stop, log = tmp_path / "stop-writing", tmp_path / "writer.log"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(product.branch.pk), str(product.writer.pk), str(stop)],
        env=source,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),  # a file: a full pipe would stop the writer
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing", log.read_text()
        before = count_rows(source["DATABASE_URL"])["ledger_transaction"]
        out = lealtad("backup", str(tmp_path / "backups"), env=source)
        path = Path(out.stdout.split()[1])
        with tarfile.open(path) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
        for _ in range(200):  # the writer goes on after the backup
            if (
                count_rows(source["DATABASE_URL"])["ledger_transaction"]
                > (manifest["row_counts"]["ledger_transaction"])
            ):
                break
            time.sleep(0.05)
    finally:
        stop.touch()
        written = writer.communicate(timeout=60)[0]
    assert writer.returncode == 0, log.read_text()
    after = count_rows(source["DATABASE_URL"])["ledger_transaction"]
    # The backup is one moment in the middle of the writing: some accruals before it, some after.
    assert before <= manifest["row_counts"]["ledger_transaction"] < after, (before, after)
    assert int(written) >= 5
    return path, manifest


def test_a_backup_taken_while_accruals_are_written_restores_checks_and_serves(
    source, restored, product, media, tmp_path
):
    (tmp_path / "backups").mkdir()
    path, manifest = backup_while_writing(source, product, tmp_path)
    assert path.parent == tmp_path / "backups" and path.name.startswith("lealtad-")
    assert manifest["engine"] == connection.vendor
    assert manifest["migration_heads"]["ledger"] == manifest["migrations"]["ledger"][-1]
    assert manifest["media"]["media"]["files"] == 1 and manifest["media"]["private"]["files"] == 1
    rows = manifest["row_counts"]
    assert rows["ratings_rating"] == 1 and rows["claims_claim"] == 1
    assert rows["ledger_transaction"] >= 3 + 1 + 1 + 5  # accruals, redemption, coins, writer

    out = lealtad("restore", str(path), env=restored)
    assert "as the manifest counts them" in out.stdout
    assert count_rows(restored["DATABASE_URL"]) == rows
    assert "every account agrees" in lealtad("ledger-check", env=restored).stdout
    for name, folder in zip(("MEDIA_ROOT", "PRIVATE_MEDIA_ROOT"), media, strict=True):
        assert files_under(Path(restored[name])) == files_under(folder) != {}

    # --force replaces all of it, what was added since included (without it: refused, below).
    dirty = "CREATE TABLE stray (id integer)"
    if connection.vendor == "sqlite":
        db = sqlite3.connect(restored["DATABASE_URL"].removeprefix("sqlite:///"))
        db.execute(dirty)
        db.close()
    else:
        maintenance(dirty, url=restored["DATABASE_URL"])
    (Path(restored["MEDIA_ROOT"]) / "stray.txt").write_text("not in the backup")
    lealtad("restore", "--force", str(path), env=restored)
    assert count_rows(restored["DATABASE_URL"]) == rows  # the stray table is gone
    assert files_under(Path(restored["MEDIA_ROOT"])) == files_under(media[0])

    assert free(PORT), f"port {PORT} is taken"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lealtad.cli",
            "serve",
            "--port",
            str(PORT),
            "--workers",
            "1",
            "--no-worker",
            "--no-collectstatic",
        ],
        env=restored,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(300):
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the restored server did not answer /healthz")
        status, kind, page = get(f"{base}/login/")
        assert status == 200 and kind.startswith("text/html") and b"<form" in page
        customer = product.customer
        # The staff token issued before the backup signs in to the restored copy.
        status, _, body = get(f"{base}/api/v1/customers/{customer.pk}", token=product.token)
        assert status == 200, body
        data = json.loads(body)
        assert data["id"] == str(customer.pk) and data["email"] == customer.email
        expected = product_membership(product, customer).account.balance
        assert data["points"]["available"] == expected > 0
        assert data["coins"]["available"] == 750
        status, _, body = get(f"{base}/api/v1/customers/{customer.pk}", token="not-a-token")
        assert status == 401
    finally:
        server.terminate()
        server.wait(timeout=30)


def rewrite(path: Path, target: Path, change=None, member=None) -> Path:
    """A copy of the backup at PATH with its manifest changed, or one member's bytes replaced."""
    with tarfile.open(path) as tar, tarfile.open(target, "w") as out:
        for info in tar.getmembers():
            data = tar.extractfile(info).read()
            if info.name == "manifest.json" and change:
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            elif member and info.name == member[0]:
                data = member[1]
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return target


def refused(path, *args) -> str:
    with pytest.raises(CommandError) as error:
        call_command("restore", str(path), *args)
    return str(error.value)


# On PostgreSQL in the test's transaction (no flush after it): pg_dump, a connection of its own,
# sees only what is committed, the migrated schema, which is all the refusals need. SQLite's
# in-memory test database cannot be copied from inside the test's write transaction (it waits).
@pytest.mark.django_db(
    transaction=not settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
)
def test_backup_and_restore_refuse_with_a_clear_message(product, tmp_path, monkeypatch):
    with pytest.raises(CommandError, match="no such folder"):
        call_command("backup", str(tmp_path / "nowhere" / "b.tar"))
    out = io.StringIO()
    call_command("backup", str(tmp_path), stdout=out)  # a folder: the backup is named in it
    (made,) = tmp_path.glob("lealtad-*.tar")
    assert str(made) in out.getvalue()
    with tarfile.open(made) as tar:
        assert sorted(tar.getnames()) == sorted(
            ["manifest.json", backup.DATABASE_MEMBER[connection.vendor], *media_members()]
        )

    assert "no such backup file" in refused(tmp_path / "missing.tar")
    (tmp_path / "notes.tar").write_bytes(b"these are not the backups you are looking for" * 20)
    assert "not a Lealtad backup (not a .tar file)" in refused(tmp_path / "notes.tar")
    with tarfile.open(tmp_path / "other.tar", "w") as tar:
        tar.add(__file__, arcname="test_backup.py")
    assert "not a Lealtad backup (no manifest.json" in refused(tmp_path / "other.tar")

    def future(manifest):
        manifest["migrations"]["ledger"].append("9999_from_the_future")

    message = refused(rewrite(made, tmp_path / "future.tar", future))
    assert "newer Lealtad" in message and "ledger.9999_from_the_future" in message

    def newer_format(manifest):
        manifest["format_version"] = backup.FORMAT_VERSION + 1

    assert "version mismatch" in refused(rewrite(made, tmp_path / "format.tar", newer_format))
    member = backup.DATABASE_MEMBER[connection.vendor]
    damaged = rewrite(made, tmp_path / "damaged.tar", member=(member, b"\0" * 4096))
    assert "damaged" in refused(damaged)
    # The test database holds this suite's data: not empty, so refused without --force.
    message = refused(made)
    assert "the target is not empty" in message and "--force" in message
    assert Reward.objects.count() == 1 and Rating.objects.count() == 1  # nothing was touched

    if connection.vendor == "postgresql":
        monkeypatch.setenv("PG_BIN_DIR", str(tmp_path))  # a folder without pg_dump or pg_restore
        with pytest.raises(CommandError, match="pg_dump was not found in PG_BIN_DIR"):
            call_command("backup", str(tmp_path / "none.tar"))
        assert not (tmp_path / "none.tar").exists()
        assert "pg_restore was not found" in refused(made)
        monkeypatch.delenv("PG_BIN_DIR")

        def newer_pg_dump(manifest):
            manifest["postgresql"]["pg_dump_major"] = 99

        message = refused(rewrite(made, tmp_path / "pg99.tar", newer_pg_dump))
        assert "version mismatch" in message and "pg_dump 99" in message

    # The other engine's backup is refused before its database is opened (none needs to exist).
    if connection.vendor == "postgresql":
        other = {"DATABASE_URL": f"sqlite:///{tmp_path / 'nowhere' / 'other.sqlite3'}"}
        expected = "is a PostgreSQL backup, and DATABASE_URL names a SQLite database"
    else:
        other = {"DATABASE_URL": "postgres://nobody@127.0.0.1:9/lealtad_backup_nowhere"}
        expected = "is a SQLite backup, and DATABASE_URL names a PostgreSQL database"
    out = lealtad("restore", str(made), env={**os.environ, **other}, check=False)
    assert out.returncode != 0 and expected in out.stderr


def media_members() -> list[str]:
    return [
        f"{name}/{path.relative_to(root).as_posix()}"
        for name, root in backup.media_roots().items()
        for path in root.rglob("*")
        if path.is_file()
    ]
