#!/usr/bin/env bash
# Re-records the real-program streams of the terminal corpus (see README.md).
# Needs vim, htop, less and bash; for the agent CLIs, AGENT_CLIS=DIR pointing
# at a directory where `npm install @anthropic-ai/claude-code @openai/codex
# @google/gemini-cli opencode-ai` ran. Every program gets an empty HOME and
# a clean environment (scripts/record-terminal), so no credentials reach it.
# Recordings are timing-dependent: a re-recording differs byte for byte.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
record="$repo/scripts/record-terminal"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fresh_home() {
    rm -rf "$work/home" && mkdir -p "$work/home" && echo "$work/home"
}

# A syntax-highlighted file long enough to scroll: the recorder itself.
cp "$record" "$work/record_terminal.py"

vim_steps=(
    --step 1.5 '^D' --step 0.7 '^D' --step 0.7 '^U'
    --step 0.7 'o日本語 and an emoji 😀 inserted^['
)
"$record" --out "$here/vim.bin" --home "$(fresh_home)" --cwd "$work" --tail 1.5 \
    "${vim_steps[@]}" -- vim -i NONE -n record_terminal.py
"$record" --out "$here/vim-quit.bin" --home "$(fresh_home)" --cwd "$work" --tail 1.5 \
    "${vim_steps[@]}" --step 0.7 ':q!\r' -- vim -i NONE -n record_terminal.py

"$record" --out "$here/htop.bin" --home "$(fresh_home)" --tail 3 -- htop

"$record" --out "$here/less.bin" --home "$(fresh_home)" --env LESSHISTFILE=- --tail 1 \
    --step 1 ' ' --step 0.7 ' ' --step 0.7 '/software\r' \
    -- less /usr/share/common-licenses/GPL-3

"$record" --out "$here/bash.bin" --home "$(fresh_home)" --cwd "$work" --tail 1 \
    --env 'PS1=\[\e[1;32m\]corpus\[\e[0m\]:\[\e[34m\]\W\[\e[0m\]\$ ' \
    --step 0.7 'ls --color=always /usr/bin | head -50\r' \
    --step 0.7 "printf '\\\\e[38;2;255;120;0mtruecolor fg\\\\e[0m \\\\e[48;2;0;90;170mtruecolor bg\\\\e[0m\\\\n'\\r" \
    --step 0.7 "for i in \$(seq 0 255); do printf '\\\\e[48;5;%sm%4s' \$i \$i; done; printf '\\\\e[0m\\\\n'\\r" \
    -- bash --norc --noprofile -i

if [[ -n "${AGENT_CLIS:-}" ]]; then
    bin="$AGENT_CLIS/node_modules/.bin"
    for cli in claude-code:claude codex:codex gemini:gemini opencode:opencode; do
        name="${cli%%:*}"
        program="${cli#*:}"
        mkdir -p "$work/project-$name"
        "$record" --out "$here/$name.bin" --home "$(fresh_home)" --cwd "$work/project-$name" \
            --tail 8 --timeout 12 -- "$bin/$program"
    done
fi
