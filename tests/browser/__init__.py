"""Real-browser and real-server tests (JupyterLab / Notebook 7 / jupyter_server, Debian chromium)."""
