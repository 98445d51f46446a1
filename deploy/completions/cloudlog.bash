# bash completion for cloudlog, generated from its option tables by
# `cloudlog help --completions bash` (do not edit: regenerate).
_cloudlog()
{
    local cur="${COMP_WORDS[COMP_CWORD]}" path="" words="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
        -*) break ;;
        *) path="${path:+$path }${COMP_WORDS[i]}" ;;
        esac
    done
    case "$path" in
    "dlq list" | "dlq list "*) words="--data --queue --limit --json --config --help --version" ;;
    "dlq show" | "dlq show "*) words="--data --queue --raw --config --help --version" ;;
    "dlq redrive" | "dlq redrive "*) words="--data --queue --all --config --help --version" ;;
    "patterns learn" | "patterns learn "*) words="--max-clusters --similarity --max-input --stats --config --help --version" ;;
    "anomalies score" | "anomalies score "*) words="--config --help --version" ;;
    "config check" | "config check "*) words="--config --help --version" ;;
    "config print" | "config print "*) words="--config --help --version" ;;
    "dlq") words="list show redrive --help" ;;
    "patterns") words="learn --help" ;;
    "anomalies") words="score --help" ;;
    "config") words="check print --help" ;;
    "help") words="--man --completions --help" ;;
    "serve" | "serve "*) words="--listen --data --api-key-file --tls-cert --tls-key --tls-client-ca --insecure --max-body --max-decoded --max-record --max-errors --max-message --max-depth --max-record-age --max-record-future --max-message-partitions --compression-level --idempotency-window --queue --durability --queue-max-depth --queue-max-bytes --max-inflight --max-connections --http-threads --ingest-workers --connection-timeout --shutdown-timeout --queue-retention --retention --retention-interval --retention-quiet --dlq-retention --max-receive-count --store --endpoint-url --processor-workers --no-processor --analytics --analytics-max-patterns --flush-size --flush-age --buffer-max --object-compression-level --visibility-timeout --retry-base --retry-max --max-queries --query-timeout --query-max-bytes --regex-match-limit --regex-depth-limit --regex-heap-limit --emf --emf-namespace --emf-dimensions --log-level --emf-interval --alarms-config --alarm-webhook --syslog-listen --syslog-max-message --syslog-max-connections --log-format --config --help --version" ;;
    "status" | "status "*) words="--data --queue --endpoint-url --json --config --help --version" ;;
    "query" | "query "*) words="--data --store --endpoint-url --since --from --to --service --level --grep --ignore-case --regex --where --logql --limit --order --count --format --stats --threads --query-timeout --query-max-bytes --regex-match-limit --regex-depth-limit --regex-heap-limit --config --help --version" ;;
    "tail" | "tail "*) words="--data --store --endpoint-url --lines --follow --since --service --level --grep --ignore-case --regex --where --format --interval --window --config --help --version" ;;
    "partitions" | "partitions "*) words="--data --store --endpoint-url --service --since --from --to --json --config --help --version" ;;
    "alarms" | "alarms "*) words="--data --json --history --config --help --version" ;;
    "verify" | "verify "*) words="--data --store --endpoint-url --repair --format --config --help --version" ;;
    "patterns" | "patterns "*) words="--data --service --since --level --limit --new --json --config --help --version" ;;
    "anomalies" | "anomalies "*) words="--data --service --since --limit --json --config --help --version" ;;
    "reload" | "reload "*) words="--data --timeout --config --help --version" ;;
    "retention" | "retention "*) words="--data --retention --retention-quiet --dry-run --config --help --version" ;;
    "") words="serve status query tail partitions dlq alarms reload retention verify patterns anomalies config help --help --version" ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    if [ ${#COMPREPLY[@]} -eq 0 ] && [[ "$cur" != -* ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -F _cloudlog cloudlog
