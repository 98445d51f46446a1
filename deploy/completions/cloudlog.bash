# bash completion for cloudlog. Commands and options come from the binary's own --help, so
# they always match the installed version.
_cloudlog()
{
    local cur prev words cword
    cur="${COMP_WORDS[COMP_CWORD]}"
    local cmd="${COMP_WORDS[0]}"
    if [ "$COMP_CWORD" -eq 1 ]; then
        local commands
        commands="$("$cmd" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')"
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi
    local sub=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
    local filtered=()
    local w
    for w in "${sub[@]}"; do
        case "$w" in -*) break ;; *) filtered+=("$w") ;; esac
    done
    case "$cur" in
    -*)
        local opts
        opts="$("$cmd" "${filtered[@]}" --help 2>/dev/null | grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u)"
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        ;;
    *)
        if [ "${#filtered[@]}" -eq 1 ]; then
            local subs
            subs="$("$cmd" "${filtered[0]}" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')"
            COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        fi
        [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur"))
        ;;
    esac
}
complete -F _cloudlog cloudlog
