"""``python -m aireg_submission``: serve the submission service with settings from the environment."""

from aireg_http.serve import serve
from aireg_submission.app import create_app
from aireg_submission.settings import Settings


def main() -> None:
    settings = Settings()
    serve(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        service="submission",
        log_format=settings.log_format,
    )


if __name__ == "__main__":
    main()
