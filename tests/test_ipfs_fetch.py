"""A participant runs the client template only if it hashes to the recorded CID."""

from __future__ import annotations

from pathlib import Path

import pytest

from fl_app.client.fetch import BundleFileSource, fetch_template, main, run_template
from fl_app.ipfs.bundle import bundle_cid, pack_bundle
from fl_app.ipfs.content import pin_template
from fl_app.ipfs.daemon import KuboDaemon
from fl_app.ipfs.errors import CidMismatchError, IpfsNotFoundError
from fl_app.ipfs.gateway import GatewaySource
from fl_app.ipfs.rpc import IpfsClient
from fl_app.ipfs.unixfs import file_cid
from tests.ipfs_fixtures import TEMPLATE_DIR

DRY_RUN = ["--superlink", "127.0.0.1:9092", "--insecure", "--dry-run"]


class SwappingSource:
    """A dishonest daemon: answers the recorded CID with another bundle's bytes."""

    def __init__(self, client: IpfsClient, served_cid: str) -> None:
        self.client = client
        self.served_cid = served_cid

    def cat(self, cid: str, *, max_bytes: int | None = None) -> bytes:
        return self.client.cat(self.served_cid, max_bytes=max_bytes)


def _arm_one_byte_payload(template: Path, marker: Path) -> None:
    """Add a line, run before ``main()``, that writes ``marker`` once its ``0`` becomes ``1``."""
    client = template / "client.py"
    payload = f'0 and __import__("pathlib").Path(r"{marker}").write_text("ran")\n'
    source = client.read_text(encoding="utf-8")
    entry_point = 'if __name__ == "__main__":'
    assert entry_point in source
    client.write_text(source.replace(entry_point, payload + entry_point), encoding="utf-8")


def _flip_payload_byte(bundle: bytes) -> bytes:
    position = bundle.index(b'0 and __import__("pathlib")')
    return bundle[:position] + b"1" + bundle[position + 1 :]


def test_genuine_template_is_verified_unpacked_and_run(
    ipfs_client: IpfsClient, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cid = pin_template(ipfs_client, TEMPLATE_DIR)
    assert cid == bundle_cid(TEMPLATE_DIR)
    destination = tmp_path / "template"
    code = main(
        ["--cid", cid, "--dest", str(destination), "--api", ipfs_client.api_url, "--", *DRY_RUN]
    )
    out, err = capfd.readouterr()
    assert code == 0
    assert f"verified client template {cid}" in err
    assert "flower-supernode --superlink 127.0.0.1:9092 --port 9094 --insecure" in out
    assert (destination / "client.py").read_bytes() == (TEMPLATE_DIR / "client.py").read_bytes()


def test_one_changed_byte_is_refused_before_any_code_runs(
    ipfs_client: IpfsClient, template_copy: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "tampered-code-ran"
    _arm_one_byte_payload(template_copy, marker)
    genuine_cid = pin_template(ipfs_client, template_copy)
    tampered = _flip_payload_byte(pack_bundle(template_copy))
    tampered_cid = ipfs_client.add_bytes(tampered)

    with pytest.raises(CidMismatchError) as caught:
        fetch_template(
            genuine_cid,
            source=SwappingSource(ipfs_client, tampered_cid),
            destination=tmp_path / "refused",
        )
    message = str(caught.value)
    assert genuine_cid in message and tampered_cid in message and "\n" not in message
    assert not marker.exists()
    assert not (tmp_path / "refused").exists()

    # Control: the same tampered bundle, accepted under its own CID, does run the payload,
    # so the marker's absence above is the refusal's doing.
    entry = fetch_template(tampered_cid, source=ipfs_client, destination=tmp_path / "accepted")
    assert run_template(entry, DRY_RUN, timeout=60) == 0
    assert marker.read_text() == "ran"


def test_added_file_is_refused_before_any_code_runs(
    ipfs_client: IpfsClient,
    template_copy: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    genuine_cid = pin_template(ipfs_client, template_copy)
    marker = tmp_path / "shadow-module-ran"
    # A module beside client.py shadows the standard library's argparse when it runs.
    (template_copy / "argparse.py").write_text(
        f'import pathlib\npathlib.Path(r"{marker}").write_text("ran")\nraise SystemExit(0)\n'
    )
    tampered_bundle = tmp_path / "mirror-copy.tar"
    tampered_bundle.write_bytes(pack_bundle(template_copy))
    tampered_cid = bundle_cid(template_copy)

    destination = tmp_path / "refused"
    code = main(
        [
            "--cid",
            genuine_cid,
            "--dest",
            str(destination),
            "--bundle",
            str(tampered_bundle),
            "--",
            *DRY_RUN,
        ]
    )
    _, err = capfd.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert genuine_cid in err and tampered_cid in err
    assert not marker.exists()
    assert not destination.exists()

    # Control: verified against its own CID, the tampered bundle's module does run.
    entry = fetch_template(
        tampered_cid, source=BundleFileSource(tampered_bundle), destination=tmp_path / "ok"
    )
    run_template(entry, DRY_RUN, timeout=60)
    assert marker.read_text() == "ran"


def test_missing_cid_without_chain_lookup_is_a_clear_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["--task", "some-task", "--dest", str(tmp_path / "t")]) == 2
    assert "pass --cid" in capfd.readouterr().err


def test_chain_lookup_supplies_the_cid(
    ipfs_client: IpfsClient, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cid = pin_template(ipfs_client, TEMPLATE_DIR)
    tasks = {"task-1": cid}
    code = main(
        [
            "--task",
            "task-1",
            "--dest",
            str(tmp_path / "t"),
            "--api",
            ipfs_client.api_url,
            "--no-run",
        ],
        lookup=tasks.__getitem__,
    )
    assert code == 0
    assert (tmp_path / "t" / "client.py").is_file()


def test_template_fetched_over_the_gateway_is_verified(
    kubo_daemon: KuboDaemon, ipfs_client: IpfsClient, tmp_path: Path
) -> None:
    cid = pin_template(ipfs_client, TEMPLATE_DIR)
    destination = tmp_path / "t"
    code = main(
        ["--cid", cid, "--dest", str(destination), "--gateway", kubo_daemon.gateway_url, "--no-run"]
    )
    assert code == 0
    assert (destination / "client.py").read_bytes() == (TEMPLATE_DIR / "client.py").read_bytes()


def test_gateway_without_the_content_says_so(kubo_daemon: KuboDaemon) -> None:
    with pytest.raises(IpfsNotFoundError):
        GatewaySource(kubo_daemon.gateway_url, timeout=10.0).cat(file_cid(b"never added"))
