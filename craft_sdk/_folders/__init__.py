"""Folder sync: upload_folder and download_folder (private)."""
