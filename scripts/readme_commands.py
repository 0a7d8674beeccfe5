"""Print one of README's two newcomer commands: ``setup`` (its first code block) or ``test`` (its second).

    python3 scripts/readme_commands.py setup|test [README]

``.ci/run`` runs exactly what this prints, so CI runs README's own commands, never a copy that can drift;
``tests/test_readme.py`` checks the blocks say what a newcomer needs. Standard library only: it runs
before anything is installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

BLOCK = re.compile(r"^```(?:bash|sh|console)?\s*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def readme_commands(text: str) -> dict[str, str]:
    """``{"setup": ..., "test": ...}``: the first two code blocks of README, each one command line."""
    blocks = [block.strip() for block in BLOCK.findall(text)]
    if len(blocks) < 2:
        raise ValueError("README.md must start with two code blocks: the set-up command and the test command")
    commands = {}
    for key, block in zip(("setup", "test"), blocks[:2], strict=True):
        lines = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        if len(lines) != 1:
            raise ValueError(f"README.md's {key} block must be one command line, found {len(lines)}: {block!r}")
        commands[key] = lines[0].strip()
    return commands


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2) or argv[0] not in ("setup", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    readme = Path(argv[1]) if len(argv) == 2 else Path(__file__).resolve().parents[1] / "README.md"
    try:
        print(readme_commands(readme.read_text(encoding="utf-8"))[argv[0]])
    except (OSError, ValueError) as exc:
        print(f"readme_commands: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
