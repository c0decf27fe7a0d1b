"""Media that cannot become pages: a file that decodes as a picture or a sound and is also HTML is
stored by imports under a generated name with its decoded type's extension, and staff media is
served with the type sniffed from the bytes, nosniff, and as a download unless a picture or sound."""
import io

import numpy as np
import pytest
import soundfile
from PIL import Image

from gan.models import Pair
from jobs.engine import create_job, execute_job
from jobs.models import JobStatus

pytestmark = pytest.mark.django_db

HTML = b"<html><body><script>fetch('/admin/auth/user/')</script></body></html>"


def png_and_html() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue() + HTML  # decoders stop at IEND; a browser told text/html runs the script


def wav() -> bytes:
    buffer = io.BytesIO()
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    soundfile.write(buffer, tone.astype(np.float32), 8000, format="WAV")
    return buffer.getvalue()


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize("name, data, content_type, inline", [
    ("photos/cat.html", png_and_html(), "image/png", True),
    ("sounds/tune.html", wav(), "audio/x-wav", True),
    ("notes/page.png", HTML, "application/octet-stream", False),  # an .png that is HTML is not a picture
    ("notes/drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "application/octet-stream", False),
    ("runs/x/ckpt.pt", b"PK\x03\x04" + b"\0" * 200, "application/zip", False),
])
def test_staff_media_is_served_by_its_sniffed_type(staff, media_root, name, data, content_type, inline):
    (media_root / name).parent.mkdir(parents=True, exist_ok=True)
    (media_root / name).write_bytes(data)
    response = staff.get(f"/gan/media/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == ("inline" if inline else "attachment")
    assert b"".join(response.streaming_content) == data  # sniffing read the head and rewound


def test_a_manifest_import_stores_generated_names_with_decoded_extensions(media_root, tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "cat.html").write_bytes(png_and_html())
    (folder / "meow.html").write_bytes(wav())
    (folder / "manifest.csv").write_text("sound,image,label\nmeow.html,cat.html,cat\n")
    job = create_job("import_manifest", {"dataset": "polyglot", "manifest": str(folder / "manifest.csv")},
                     enqueue=False)
    execute_job(job.pk, "test")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    pair = Pair.objects.get(dataset__name="polyglot")
    assert pair.image.name.endswith(".png") and pair.sound.name.endswith(".wav")
    for stored in (pair.image.name, pair.sound.name):
        assert "cat" not in stored.rsplit("/", 1)[1] and "meow" not in stored.rsplit("/", 1)[1]
    assert not any(p.suffix == ".html" for p in media_root.rglob("*"))
