"""``python -m aireg_reporting``: serve the reporting service with settings from the environment."""

from aireg_http.serve import serve
from aireg_reporting.app import create_app
from aireg_reporting.settings import Settings


def main() -> None:
    settings = Settings()
    serve(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        service="reporting",
        log_format=settings.log_format,
    )


if __name__ == "__main__":
    main()
