"""Server settings, from NTM_* environment variables (or a .env file)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from layers.store import default_store_path


class Settings(BaseSettings):
    """What the web app needs to know; ``NTM_STORE``, ``NTM_OFFLINE``, ``NTM_TILES``…"""

    model_config = SettingsConfigDict(env_prefix="NTM_", env_file=".env", extra="ignore")

    store: Path = default_store_path()
    offline: bool = True  # serve Leaflet & co. ourselves; never load from CDNs
    tiles: str | None = None  # a tile URL template for offices with a tile server
    tiles_attribution: str = ""
    lang: str = "vi"
    # Editing API (api/auth.py, api/routes_upload.py)
    public_reads: bool = True  # False: every read needs an API key (viewer or above)
    upload_max_bytes: int = 50 * 1024 * 1024  # one uploaded file; larger bodies get 413
    upload_max_unzipped_bytes: int = 500 * 1024 * 1024  # all entries of a zip (or .xlsx) together
    upload_max_zip_ratio: int = 100  # uncompressed / compressed, per entry above 1 MiB
    upload_max_zip_entries: int = 100
