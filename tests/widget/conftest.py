"""Cast (owner, admin, agent, stranger), a live Parley server and the
business side of the REST API for the Web Messenger tests."""

import struct
import zlib

import requests

from tests.support.browser import browser, page  # noqa: F401  (fixtures)



def png(width=240, height=140, rgb=(46, 125, 196)) -> bytes:
    """A solid-colour PNG: what the business uploads as an image message."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


PNG = png()


class Business:
    """The business's own software: Parley's REST API with an app-scope JWT."""

    def __init__(self, base_url, app):
        from tests.support.ws import app_jwt

        self.base = base_url
        self.headers = {"authorization": f"Bearer {app_jwt(app)}"}

    def post(self, path, expect=201, **kwargs):
        response = requests.post(self.base + path, headers=self.headers, timeout=10, **kwargs)
        assert response.status_code == expect, response.text
        return response.json()

    def send(self, app_user_id, **message):
        body = {"role": "appMaker", "type": "text", **message}
        return self.post(f"/v1/appusers/{app_user_id}/messages", json=body)["message"]

    def image(self, app_user_id, text=""):
        return self.post(
            f"/v1/appusers/{app_user_id}/images",
            data={"role": "appMaker", "text": text, "name": "Ana"},
            files={"source": ("pic.png", PNG, "image/png")},
        )["message"]

    def typing(self, app_user_id, state="start", **fields):
        return self.post(
            f"/v1/appusers/{app_user_id}/conversation/activity",
            expect=200,
            json={"type": f"typing:{state}", **fields},
        )
