"""``python -m aireg_submission``: serve the submission service with settings from the environment."""

from aireg_http.serve import run_service
from aireg_submission.app import create_app
from aireg_submission.settings import Settings


def main() -> None:
    run_service("submission", Settings, create_app)


if __name__ == "__main__":
    main()
