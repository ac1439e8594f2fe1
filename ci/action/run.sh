#!/usr/bin/env bash
# What the reusable GitHub action (action.yml at the repository root) runs. Every input comes
# in as an environment variable INPUT_<NAME> (the input's name in upper case, `-` as `_`);
# action.yml maps each one, and harness/tests/ci_recipes.rs checks that the two lists agree.
#
#   ci/action/run.sh install   Install callout-conformance (and callout-responder and
#                              callout-mutant when INPUT_REFERENCE is true) into
#                              $CALLOUT_TOOL_ROOT (default $RUNNER_TEMP/callout-conformance),
#                              whose bin/ goes to $GITHUB_PATH. INPUT_INSTALL says how:
#                              release (the default): the release binaries of INPUT_TOOL_VERSION
#                                (empty: the version of this checkout's Cargo.toml) from
#                                INPUT_TOOL_REPOSITORY's releases, SHA-256 verified, by
#                                ci/action/install.sh (CALLOUT_RELEASE_BASE_URL overrides where
#                                the releases are, e.g. a local directory);
#                              source: cargo install --locked, from this checkout (--path
#                                ACTION_PATH/harness) when INPUT_TOOL_VERSION is empty, else from
#                                INPUT_TOOL_REPOSITORY at that version (a 40-hex commit: --rev;
#                                branch:NAME: --branch; anything else: --tag).
#                              CALLOUT_ACTION_DRY_RUN=1 prints the cargo commands or the URLs
#                              instead.
#   ci/action/run.sh run       Run the suite, write the reports to INPUT_REPORT_DIR (JSON, JUnit,
#                              Markdown, HTML), append the failures-only summary to
#                              $GITHUB_STEP_SUMMARY (stdout when unset) and the outputs to
#                              $GITHUB_OUTPUT (when set). The responders: INPUT_PROFILE (a
#                              profile brings its own responder command), or INPUT_RESPONDER_CMD
#                              and/or INPUT_REFERENCE. Exits with the run's exit code: 0 nothing
#                              failed, 1 a case failed, 2 a set-up or usage error.
#
# The tool is `callout-conformance` on PATH, or $CALLOUT_CONFORMANCE when set (the tests here
# point it at target/debug).
set -uo pipefail

die() { echo "callout-conformance action: error: $*" >&2; exit 2; }
say() { echo "callout-conformance action: $*" >&2; }

truthy() {
    case "${1,,}" in
        true | yes | 1 | on) return 0 ;;
        false | no | 0 | off | '') return 1 ;;
        *) die "expected true or false, got '$1'" ;;
    esac
}

# Refuses a control character (newline, carriage return, tab, …) in any input: it could add a
# line of its own to $GITHUB_OUTPUT or split a value where nobody meant to. responder-cmd alone
# may hold newlines: it is one template a line.
check_inputs() {
    local var name value
    for var in "${!INPUT_@}"; do
        name=${var#INPUT_}
        name=${name,,}
        name=${name//_/-}
        value=${!var}
        [ "$name" != responder-cmd ] || value=${value//$'\n'/}
        if [[ "$value" == *[[:cntrl:]]* ]]; then
            die "input $name holds a control character (a newline, carriage return, tab or another): give it on one line, words separated by spaces"
        fi
    done
}

# Splits the args input into the array ARGS_WORDS the way docs/ci.md says, as a responder
# command is split: spaces separate, single and double quotes group, a backslash escapes the
# next character (outside single quotes). Nothing is expanded or evaluated: no variables,
# globs, ~ or command substitution.
split_args() {
    local s=$1 i=0 n=${#1} c word='' in_word=0 quote=''
    ARGS_WORDS=()
    while [ "$i" -lt "$n" ]; do
        c=${s:i:1}
        i=$((i + 1))
        if [ "$quote" = "'" ] && [ "$c" != "'" ]; then
            word+=$c
        elif [ -n "$quote" ] && [ "$c" = "$quote" ]; then
            quote=''
        elif [ "$c" = '\' ] && [ "$quote" != "'" ]; then
            [ "$i" -lt "$n" ] || die "args ends with a backslash: remove it, or quote it ('\\')"
            word+=${s:i:1}
            i=$((i + 1))
            in_word=1
        elif [ -n "$quote" ]; then
            word+=$c
        elif [ "$c" = "'" ] || [ "$c" = '"' ]; then
            quote=$c
            in_word=1
        elif [ "$c" = ' ' ]; then
            [ "$in_word" = 0 ] || ARGS_WORDS+=("$word")
            word=''
            in_word=0
        else
            word+=$c
            in_word=1
        fi
    done
    [ -z "$quote" ] || die "args has an unclosed $quote quote: close it (args are split into words like a shell's, and nothing in them is expanded)"
    [ "$in_word" = 0 ] || ARGS_WORDS+=("$word")
}

action_path() {
    if [ -n "${GITHUB_ACTION_PATH:-}" ]; then
        echo "$GITHUB_ACTION_PATH"
    else
        (cd "$(dirname "$0")/../.." && pwd)
    fi
}

install() {
    local root="${CALLOUT_TOOL_ROOT:-${RUNNER_TEMP:-/tmp}/callout-conformance}"
    local version="${INPUT_TOOL_VERSION:-}"
    local repo="${INPUT_TOOL_REPOSITORY:-}"
    local how="${INPUT_INSTALL:-release}"
    case "$how" in
        release) install_release "$root" "$version" "$repo" ;;
        source) install_source "$root" "$version" "$repo" ;;
        *) die "install is '$how': expected release (download the release binaries) or source (cargo install)" ;;
    esac
    if [ -n "${GITHUB_PATH:-}" ]; then
        echo "$root/bin" >>"$GITHUB_PATH"
    fi
}

# The release binaries, checksum-verified, by install.sh.
install_release() {
    local root=$1 version=$2 repo=$3 here
    here=$(action_path)
    if [ -z "$version" ]; then
        # The action's own version: the workspace version of the checkout `uses:` names.
        version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" 2>/dev/null | head -n 1)
        [ -n "$version" ] || die "tool-version is empty and $here/Cargo.toml names no version; set tool-version (or install: source)"
    fi
    if [ -z "${CALLOUT_RELEASE_BASE_URL:-}" ]; then
        [ -n "$repo" ] || die "install is release but tool-repository is empty"
        export CALLOUT_RELEASE_BASE_URL="${repo%.git}/releases/download"
    fi
    local packages=(callout-conformance)
    if truthy "${INPUT_REFERENCE:-false}"; then
        packages+=(callout-responder)
    fi
    CALLOUT_TOOL_ROOT="$root" bash "$here/ci/action/install.sh" "$version" "${packages[@]}" || exit $?
}

# cargo install from this checkout or from tool-repository at tool-version.
install_source() {
    local root=$1 version=$2 repo=$3
    local source=()
    if [ -z "$version" ]; then
        local here
        here=$(action_path)
        [ -f "$here/harness/Cargo.toml" ] || die "no harness/ in $here; set tool-version to install from tool-repository"
        source=(--path "$here/harness")
    else
        [ -n "$repo" ] || die "tool-version is set ($version) but tool-repository is empty"
        if [[ "$version" =~ ^[0-9a-f]{40}$ ]]; then
            source=(--git "$repo" --rev "$version")
        elif [[ "$version" == branch:* ]]; then
            source=(--git "$repo" --branch "${version#branch:}")
        else
            source=(--git "$repo" --tag "$version")
        fi
    fi
    local packages=(callout-conformance)
    if truthy "${INPUT_REFERENCE:-false}"; then
        if [ "${source[0]}" = --path ]; then
            packages+=("$(dirname "${source[1]}")/responder")
        else
            packages+=(callout-responder)
        fi
    fi
    for pkg in "${packages[@]}"; do
        local cmd
        if [ "${source[0]}" = --path ]; then
            # A path install names the crate directory, not the package.
            local dir="${source[1]}"
            [ "$pkg" = callout-conformance ] || dir="$pkg"
            cmd=(cargo install --locked --root "$root" --path "$dir")
        else
            cmd=(cargo install --locked --root "$root" "${source[@]}" "$pkg")
        fi
        if [ "${CALLOUT_ACTION_DRY_RUN:-}" = 1 ]; then
            echo "${cmd[*]}"
        else
            say "${cmd[*]}"
            "${cmd[@]}" || die "${cmd[*]} failed"
        fi
    done
}

run() {
    local tool="${CALLOUT_CONFORMANCE:-callout-conformance}"
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found; run '$0 install' first or set CALLOUT_CONFORMANCE"
    local dir="${INPUT_REPORT_DIR:-callout-conformance-reports}"
    mkdir -p "$dir" || die "cannot create the report directory $dir"
    local json="$dir/report.json" junit="$dir/junit.xml" md="$dir/report.md" html="$dir/report.html"
    rm -f "$json"
    local args=(run --no-color --report-json "$json" --junit "$junit" --markdown "$md" --html "$html")
    args+=(--server-version "${INPUT_SERVER_VERSIONS:-2.15.1}")
    if truthy "${INPUT_STRICT:-true}"; then
        args+=(--strict)
    fi
    if truthy "${INPUT_REFERENCE:-false}"; then
        args+=(--responder reference)
    fi
    local line any=0
    while IFS= read -r line; do
        line="${line#"${line%%[![:space:]]*}"}"
        [ -n "$line" ] || continue
        args+=(--responder-cmd "$line")
        any=1
    done <<<"${INPUT_RESPONDER_CMD:-}"
    if [ -n "${INPUT_PROFILE:-}" ]; then
        # A profile brings its own responder command ([responder] cmd) and replaces the e2e
        # catalog: the tool refuses --profile together with --responder-cmd or --responder.
        [ "$any" = 0 ] || die "profile and responder-cmd are both set: a profile brings its own responder command ([responder] cmd in $INPUT_PROFILE); give one of them"
        ! truthy "${INPUT_REFERENCE:-false}" || die "profile and reference are both set: a profile judges only its own responder; run the reference in a step of its own"
        [ -f "$INPUT_PROFILE" ] || die "profile file $INPUT_PROFILE does not exist"
        args+=(--profile "$INPUT_PROFILE")
    elif [ "$any" = 0 ] && ! truthy "${INPUT_REFERENCE:-false}"; then
        die "responder-cmd is empty: give your responder's command template, a profile, or set reference: true"
    fi
    if [ -n "${INPUT_BASELINE:-}" ]; then
        [ -f "$INPUT_BASELINE" ] || die "baseline file $INPUT_BASELINE does not exist"
        args+=(--baseline "$INPUT_BASELINE")
    fi
    if [ -n "${INPUT_ARGS:-}" ]; then
        split_args "$INPUT_ARGS"
        args+=("${ARGS_WORDS[@]}")
    fi
    say "$tool ${args[*]}"
    "$tool" "${args[@]}"
    local code=$?
    local summary_file="${GITHUB_STEP_SUMMARY:-/dev/stdout}"
    if [ -f "$json" ]; then
        "$tool" summary "$json" >>"$summary_file" || say "could not write the job summary"
    else
        {
            echo "## Auth-callout conformance: no report"
            echo
            echo "callout-conformance exited $code before writing a report (a set-up or usage error); see the step's log."
        } >>"$summary_file"
    fi
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        {
            echo "exit-code=$code"
            echo "report-dir=$dir"
        } >>"$GITHUB_OUTPUT"
    fi
    return "$code"
}

check_inputs
case "${1:-}" in
    install) install ;;
    run) run ;;
    *) die "usage: $0 install|run (inputs in INPUT_* variables, see the comment at the top)" ;;
esac
