"""``python -m judgelab`` runs the command line (same as the ``judgelab`` script)."""

from judgelab.cli import app

if __name__ == "__main__":
    app(prog_name="judgelab")
