package main

import (
	"fmt"
	"strings"
)

// Shell completion: "hivectl completion bash" prints a script that
// completes commands, kinds, flags, vtep subcommands, BGP ports and — asking the API
// with the same --server and token — object names (hivectl list KIND -o
// name) and a VTEP's bound ports (hivectl vtep bindings VTEP -o name).

const bashCompletion = `# bash completion for hivectl; load with: source <(hivectl completion bash)
_hivectl() {
    local cur prev words cword
    _init_completion 2>/dev/null || { cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
    local commands="%s"
    local kinds="%s"
    local globals="%s"
    local cmd="" kind="" i conn=() pos=()
    for ((i = 1; i < cword; i++)); do
        case "${words[i]}" in
        --server|-server|--token-file|-token-file|--cacert|-cacert) conn+=("${words[i]}" "${words[i+1]}"); ((i++)); continue ;;
        -o|--o|-f|--f|--scope|-scope|--vlan|-vlan|--state|-state) ((i++)); continue ;;
        -*) continue ;;
        esac
        pos+=("${words[i]}")
        if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $kind ]]; then kind=${words[i]}; fi
    done
    case "$prev" in
    -o|--o) COMPREPLY=($(compgen -W "table json yaml name" -- "$cur")); return ;;
    -f|--f|--token-file|-token-file|--cacert|-cacert|--state|-state) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$globals" -- "$cur")); return; fi
    if [[ -z $cmd ]]; then COMPREPLY=($(compgen -W "$commands" -- "$cur")); return; fi
    case "$cmd" in
    list|get|create|set|delete)
        if [[ -z $kind ]]; then COMPREPLY=($(compgen -W "$kinds" -- "$cur")); return; fi
        [[ $cmd == create ]] && return
        COMPREPLY=($(compgen -W "$(hivectl "${conn[@]}" list "$kind" -o name 2>/dev/null)" -- "$cur")) ;;
    mac-table) COMPREPLY=($(compgen -W "$(hivectl "${conn[@]}" list bridges -o name 2>/dev/null)" -- "$cur")) ;;
    arp-table) COMPREPLY=($(compgen -W "$(hivectl "${conn[@]}" list routers -o name 2>/dev/null)" -- "$cur")) ;;
    trace) [[ $prev == --from || $prev == -from ]] && COMPREPLY=($(compgen -W "$(hivectl "${conn[@]}" list ports -o name 2>/dev/null)" -- "$cur")) ;;
    vtep)
        # pos: vtep SUBCOMMAND VTEP PORT VLAN BRIDGE
        case "${#pos[@]}/$kind" in
        1/) COMPREPLY=($(compgen -W "%s" -- "$cur")) ;;
        2/*|*/status) COMPREPLY=($(compgen -W "$(hivectl "${conn[@]}" list vteps -o name 2>/dev/null)" -- "$cur")) ;;
        3/bind|3/unbind) COMPREPLY=($(compgen -W "$(hivectl "${conn[@]}" vtep bindings "${pos[2]}" -o name 2>/dev/null)" -- "$cur")) ;;
        5/bind) COMPREPLY=($(compgen -W "$(hivectl "${conn[@]}" list bridges -o name 2>/dev/null)" -- "$cur")) ;;
        esac ;;
    bgp) COMPREPLY=($(compgen -W "$(hivectl "${conn[@]}" bgp -o name 2>/dev/null)" -- "$cur")) ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
    esac
}
complete -F _hivectl hivectl
`

// zshPrelude lets zsh run the bash script.
const zshPrelude = "# zsh completion for hivectl; load with: source <(hivectl completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n"

func runCompletion(e *env) error {
	if err := e.need(1, 1); err != nil {
		return err
	}
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	var ks []string
	for _, k := range kinds {
		ks = append(ks, k.coll, k.one)
	}
	flags := "--server --token-file --cacert -o --ids --no-headers -h -w -f --dry-run --scope --vlan --from --icmp-echo --tcp --udp --arp-request --src-mac --dst-mac --src-ip --ttl --state --tags --routes"
	script := fmt.Sprintf(bashCompletion, strings.Join(names, " "), strings.Join(ks, " "), flags, strings.Join(vtepSubcommands, " "))
	switch e.args[0] {
	case "bash":
	case "zsh":
		script = zshPrelude + script
	default:
		return fmt.Errorf("%w: completion for bash or zsh, not %q", errUsage, e.args[0])
	}
	_, err := fmt.Fprint(e.stdout, script)
	return err
}
