"""``python -m aireg_analysis``: serve the analysis service with settings from the environment."""

from aireg_analysis.app import create_app
from aireg_analysis.settings import Settings
from aireg_http.serve import serve


def main() -> None:
    settings = Settings()
    serve(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        service="analysis",
        log_format=settings.log_format,
    )


if __name__ == "__main__":
    main()
