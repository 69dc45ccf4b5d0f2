"""Cloudflare's official Python SDK (PyPI `cloudflare`), unchanged, against the local service.

Run by scripts/sdk-tests.sh, which starts the service and passes its URL in DU_SERVICE.
Every route the SDK offers for Images is called the way a site's backend would call it.
"""
import io
import os
import struct
import unittest
import urllib.request
import uuid
import zlib

from cloudflare import Cloudflare, NotFoundError, BadRequestError, ConflictError

SERVICE = os.environ["DU_SERVICE"]
RUN = uuid.uuid4().hex[:8]  # names unique to this run, so the tests can rerun on one service
ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
client = Cloudflare(api_token="local-dev-token", base_url=f"{SERVICE}/client/v4", max_retries=0)


def png(width, height, shade=90):
    """A real PNG, written with zlib alone."""
    raw = b"".join(b"\x00" + bytes([shade, (x * 7) % 256, 200]) * 1 for x in range(width) for _ in [0])
    rows = b"".join(b"\x00" + bytes(3 * width) for _ in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def upload(url, data, name):
    """POST a file to a one-time upload URL as multipart/form-data, as a browser does."""
    boundary = "----sdk-test-boundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        f"Content-Type: image/png\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request) as response:
        return response.status


class DirectUploads(unittest.TestCase):
    def test_create_with_nested_metadata_and_signed_urls(self):
        created = client.images.v2.direct_uploads.create(
            account_id=ACCOUNT, metadata={"album": "trip", "place": {"city": "Porto"}}, require_signed_urls=True, creator="u-1"
        )
        self.assertTrue(created.upload_url.endswith(created.id))
        record = client.images.v1.get(created.id, account_id=ACCOUNT)
        self.assertEqual(record.meta, {"album": "trip", "place": {"city": "Porto"}})
        self.assertTrue(record.require_signed_urls)
        self.assertEqual(record.creator, "u-1")
        self.assertEqual(upload(created.upload_url, png(8, 8), "trip.png"), 200)
        self.assertEqual(client.images.v1.get(created.id, account_id=ACCOUNT).filename, "trip.png")

    def test_create_without_parameters(self):
        created = client.images.v2.direct_uploads.create(account_id=ACCOUNT)
        self.assertTrue(created.id)

    def test_rules_come_back_as_sdk_errors(self):
        client.images.v2.direct_uploads.create(account_id=ACCOUNT, id=f"sdk/custom-{RUN}")
        with self.assertRaises(ConflictError):
            client.images.v2.direct_uploads.create(account_id=ACCOUNT, id=f"sdk/custom-{RUN}")
        with self.assertRaises(BadRequestError):
            client.images.v2.direct_uploads.create(account_id=ACCOUNT, id="/leading")
        with self.assertRaises(NotFoundError):
            client.images.v1.get("no-such-image", account_id=ACCOUNT)


class Images(unittest.TestCase):
    def test_upload_edit_blob_list_delete(self):
        data = png(16, 12)
        image = client.images.v1.create(account_id=ACCOUNT, file=("sdk.png", io.BytesIO(data), "image/png"), metadata={"k": "v"})
        self.assertEqual(image.filename, "sdk.png")
        self.assertEqual(image.meta, {"k": "v"})
        self.assertEqual(client.images.v1.blobs.get(image.id, account_id=ACCOUNT).read(), data)

        edited = client.images.v1.edit(image.id, account_id=ACCOUNT, metadata={"k": "w"}, require_signed_urls=True)
        self.assertEqual(edited.meta, {"k": "w"})
        self.assertTrue(edited.require_signed_urls)

        # The SDK's (deprecated) v1 pager reads `result.items`, but Cloudflare answers
        # `result.images`; the service answers as Cloudflare does, so read the raw page.
        raw = client.images.v1.with_raw_response.list(account_id=ACCOUNT, page=1, per_page=100)
        self.assertIn(image.id, [i["id"] for i in raw.http_response.json()["result"]["images"]])
        v2 = client.images.v2.list(account_id=ACCOUNT, sort_order="desc", per_page=10)
        self.assertIn(image.id, [i.id for i in v2.images])

        self.assertGreaterEqual(client.images.v1.stats.get(account_id=ACCOUNT).count.current, 1)
        keys = client.images.v1.keys.list(account_id=ACCOUNT)
        self.assertTrue(keys.keys[0].value)
        added = client.images.v1.keys.update(f"py{RUN}", account_id=ACCOUNT)
        self.assertIn(f"py{RUN}", [k.name for k in added.keys])
        left = client.images.v1.keys.delete(f"py{RUN}", account_id=ACCOUNT)
        self.assertNotIn(f"py{RUN}", [k.name for k in left.keys])

        client.images.v1.delete(image.id, account_id=ACCOUNT)
        with self.assertRaises(NotFoundError):
            client.images.v1.get(image.id, account_id=ACCOUNT)


class Variants(unittest.TestCase):
    def test_variant_lifecycle(self):
        created = client.images.v1.variants.create(
            account_id=ACCOUNT, id=f"sdkhero{RUN}", options={"fit": "cover", "metadata": "none", "width": 320, "height": 180},
            never_require_signed_urls=True,
        )
        self.assertEqual(created.variant.options.width, 320)
        got = client.images.v1.variants.get(f"sdkhero{RUN}", account_id=ACCOUNT)
        self.assertEqual(got.variant.options.fit, "cover")
        edited = client.images.v1.variants.edit(
            f"sdkhero{RUN}", account_id=ACCOUNT, options={"fit": "contain", "metadata": "keep", "width": 100, "height": 100}
        )
        self.assertEqual(edited.variant.options.fit, "contain")
        listed = client.images.v1.variants.list(account_id=ACCOUNT)
        self.assertIn(f"sdkhero{RUN}", listed.variants.model_dump() if hasattr(listed.variants, "model_dump") else listed.variants)
        client.images.v1.variants.delete(f"sdkhero{RUN}", account_id=ACCOUNT)
        with self.assertRaises(NotFoundError):
            client.images.v1.variants.get(f"sdkhero{RUN}", account_id=ACCOUNT)


if __name__ == "__main__":
    unittest.main(verbosity=2)
