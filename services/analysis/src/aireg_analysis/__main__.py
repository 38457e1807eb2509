"""``python -m aireg_analysis``: serve the analysis service with settings from the environment."""

from aireg_analysis.app import create_app
from aireg_analysis.settings import Settings
from aireg_http.serve import run_service


def main() -> None:
    run_service("analysis", Settings, create_app)


if __name__ == "__main__":
    main()
