"""A participant unpacks the task's bundle only if it hashes to the recorded CID."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fl_app.client.fetch import fetch_template, main
from fl_app.ipfs.bundle import bundle_cid, bundle_sha256, pack_bundle
from fl_app.ipfs.content import pin_template
from fl_app.ipfs.daemon import KuboDaemon
from fl_app.ipfs.errors import BundleError, CidMismatchError, IpfsNotFoundError
from fl_app.ipfs.gateway import GatewaySource
from fl_app.ipfs.rpc import IpfsClient
from fl_app.ipfs.unixfs import file_cid
from tests.ipfs_fixtures import TEMPLATE_DIR


class SwappingSource:
    """A dishonest daemon: answers the recorded CID with another bundle's bytes."""

    def __init__(self, client: IpfsClient, served_cid: str) -> None:
        self.client = client
        self.served_cid = served_cid

    def cat(self, cid: str, *, max_bytes: int | None = None) -> bytes:
        return self.client.cat(self.served_cid, max_bytes=max_bytes)


def test_genuine_bundle_cid_equals_kubos_and_carries_its_sha256(
    ipfs_client: IpfsClient, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cid = pin_template(ipfs_client, TEMPLATE_DIR)
    bundle = pack_bundle(TEMPLATE_DIR)
    assert cid == bundle_cid(TEMPLATE_DIR) == ipfs_client.add_bytes(bundle, check_cid=False)
    assert cid.startswith("bafkrei")  # one raw block
    assert bundle_sha256(cid) == hashlib.sha256(ipfs_client.cat(cid)).hexdigest()
    destination = tmp_path / "template"
    assert main(["--cid", cid, "--dest", str(destination), "--api", ipfs_client.api_url]) == 0
    assert f"verified client template {cid}" in capfd.readouterr().err
    assert (destination / "client.py").read_bytes() == (TEMPLATE_DIR / "client.py").read_bytes()


def test_one_changed_byte_is_refused_before_anything_is_written(
    ipfs_client: IpfsClient, template_copy: Path, tmp_path: Path
) -> None:
    genuine_cid = pin_template(ipfs_client, template_copy)
    client = template_copy / "client.py"
    client.write_text(client.read_text().replace("import torch", "import  torch", 1))
    tampered_cid = pin_template(ipfs_client, template_copy)

    with pytest.raises(CidMismatchError) as caught:
        fetch_template(
            genuine_cid,
            source=SwappingSource(ipfs_client, tampered_cid),
            destination=tmp_path / "refused",
        )
    message = str(caught.value)
    assert genuine_cid in message and tampered_cid in message and "\n" not in message
    assert not (tmp_path / "refused").exists()


def test_added_file_is_refused_before_anything_is_written(
    ipfs_client: IpfsClient,
    template_copy: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    genuine_cid = pin_template(ipfs_client, template_copy)
    (template_copy / "argparse.py").write_text("raise SystemExit(0)\n")
    tampered_bundle = tmp_path / "mirror-copy.fab"
    tampered_bundle.write_bytes(pack_bundle(template_copy))
    tampered_cid = bundle_cid(template_copy)

    destination = tmp_path / "refused"
    code = main(
        ["--cid", genuine_cid, "--dest", str(destination), "--bundle", str(tampered_bundle)]
    )
    _, err = capfd.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert genuine_cid in err and tampered_cid in err
    assert not destination.exists()


def test_a_cid_of_a_chunked_file_is_refused_as_a_bundle(
    ipfs_client: IpfsClient, tmp_path: Path
) -> None:
    big = ipfs_client.add_bytes(b"x" * 300_000)
    with pytest.raises(BundleError, match="not a single raw block"):
        fetch_template(big, source=ipfs_client, destination=tmp_path / "t")
    assert not (tmp_path / "t").exists()


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
    code = main(["--cid", cid, "--dest", str(destination), "--gateway", kubo_daemon.gateway_url])
    assert code == 0
    assert (destination / "client.py").read_bytes() == (TEMPLATE_DIR / "client.py").read_bytes()


def test_gateway_without_the_content_says_so(kubo_daemon: KuboDaemon) -> None:
    with pytest.raises(IpfsNotFoundError):
        GatewaySource(kubo_daemon.gateway_url, timeout=10.0).cat(file_cid(b"never added"))
