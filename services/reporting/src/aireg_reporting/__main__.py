"""``python -m aireg_reporting``: serve the reporting service with settings from the environment."""

from aireg_http.serve import run_service
from aireg_reporting.app import create_app
from aireg_reporting.settings import Settings


def main() -> None:
    run_service("reporting", Settings, create_app)


if __name__ == "__main__":
    main()
