# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_sts_global_optspecs
    string join \n kubeconfig= context= cluster= user= n/namespace= A/all-namespaces o/output= request-timeout= no-color as= as-group= insecure-skip-tls-verify v/v= h/help V/version
end

function __fish_kubectl_sts_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kubectl_sts_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kubectl_sts_using_subcommand
    set -l cmd (__fish_kubectl_sts_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -f -a "watch" -d 'Live, ordered view of a StatefulSet\'s pods, revisions and claims'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -f -a "canary" -d 'Roll out a template change in partition steps, gated on health, with automatic rollback'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -f -a "volumes" -d 'The pod -> claim -> volume -> storage chain, and what is wrong with it'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -f -a "verify" -d 'Prove that data in each claimed volume survives pod recreation'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -f -a "status" -d 'Identity, health and common mistakes of StatefulSets'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -f -a "history" -d 'Revisions of a StatefulSet: numbers, images, and which pods run each'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -f -a "undo" -d 'Roll a StatefulSet back to an earlier revision'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -f -a "sandbox" -d 'Run a local simulated Kubernetes cluster to try kubectl-sts without one'
complete -c kubectl-sts -n "__fish_kubectl_sts_needs_command" -f -a "demo" -d 'A guided tour: create a StatefulSet and walk through every command against it'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l until -d 'Exit 0 once this holds (1 on --timeout, naming what is missing)' -r -f -a "ready\t'All desired replicas Ready and available'
rolled\t'The update is complete (as `kubectl rollout status` decides, partition included)'
deleted\t'The StatefulSet is gone'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l timeout -d 'Give up after this long (e.g. 90s, 5m); without --until, stop watching then (exit 0)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l log -d 'One timestamped line per transition even on a terminal (also: -o wide)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand watch" -s V -l version -d 'Print version'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l image -d 'New image: CONTAINER=IMAGE (repeatable), or a bare IMAGE for a single-container pod' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l patch -d 'Template change as an RFC 6902 JSON patch or a merge patch against the StatefulSet (FILE or - for stdin)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l from -d 'Take the pod template from this StatefulSet manifest' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l steps -d 'Rising pod counts or percentages of replicas; a final 100% is implied [default: 1,50%,100%]' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l soak -d 'How long updated pods must stay Ready without restarts before the next step [default: 30s]' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l max-restarts -d 'Restarts tolerated per updated pod during a step [default: 0]' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l step-timeout -d 'Fail a step whose pods are not all Ready within this long [default: 5m]' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l check -d 'Command run in each updated pod as a health gate (exit 0 = healthy)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l pause -d 'Wait between steps: a duration, or "manual" to wait for --promote or a key press' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l promote -d 'Let a paused canary of NAME continue (from another terminal)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l full -d 'With --promote: skip the remaining steps'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l abort -d 'Stop the running canary of NAME and roll it back (from another terminal)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l resume -d 'Continue a canary whose process died, from its recorded step, with its recorded gates (--soak, --max-restarts, --step-timeout, --check, --pause, --no-rollback, --rollback-on-interrupt); a gate flag given again here wins over the recorded value'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l status -d 'Show the recorded state of the canary of NAME'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l no-rollback -d 'On failure, stop where it is instead of rolling back'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l rollback -d 'With --resume: roll back on failure again, though --no-rollback was recorded'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l rollback-on-interrupt -d 'Roll back when interrupted with Ctrl-C (default: leave it paused, resumable)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l no-rollback-on-interrupt -d 'With --resume: leave it paused on Ctrl-C again, though --rollback-on-interrupt was recorded'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l dry-run -d 'Show the plan and the template diff; change nothing'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l on-delete -d 'Drive an OnDelete StatefulSet by deleting its pods, one at a time from the highest ordinal down, as each step allows (the controller recreates them on the new revision)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -s y -l yes -d 'Do not ask for confirmation'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand canary" -s V -l version -d 'Print version'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand volumes" -s V -l version -d 'Print version'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l ordinal -d 'Only these ordinals (repeatable; default: all, highest first)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l check -d 'Command whose output must be the same before and after recreation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l timeout -d 'Give up waiting for a replacement pod after this long' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -s y -l yes -d 'Do not ask before deleting pods'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l keep-marker -d 'Leave the marker files in place'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l dry-run -d 'Show what would be written, deleted and compared; change nothing'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand verify" -s V -l version -d 'Print version'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l cluster-domain -d 'Cluster DNS domain used for the pods\' DNS names' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l strict -d 'Fail (exit 1) on warnings too'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l details -d 'Without NAME: the full report of every set (reads every pod) instead of one row each'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand status" -s V -l version -d 'Print version'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l revision -d 'Print the pod template of this revision' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l diff -d 'Show a readable diff of two revisions\' templates' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand history" -s V -l version -d 'Print version'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l to-revision -d 'Revision to return to (default: the one before the current)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l timeout -d 'Give up waiting for the pods after this long' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -s y -l yes -d 'Do not ask for confirmation'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l no-wait -d 'Return once the template is rolled back, without waiting for the pods'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand undo" -s V -l version -d 'Print version'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand completion" -s V -l version -d 'Print version'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l port -d 'Port to listen on (0 = any free port)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l listen -d 'Address to listen on; only loopback unless you say otherwise here' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l kubeconfig-out -d 'Where to write the kubeconfig (default: DATA_DIR/kubeconfig)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l data-dir -d 'Where the sandbox keeps its state and volume contents (default: a per-user directory)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l faults -d 'Make requests fail for resilience testing, e.g. "error-rate=0.1,codes=500:429,cut-watches=5s"' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l start-delay -d 'How long a container takes to start' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l ready-delay -d 'How long a started container takes to become Ready' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand sandbox" -s V -l version -d 'Print version'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -s n -l namespace -d 'Namespace (default: the context\'s namespace, else "default")' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns, as kubectl prints them'
wide\t'Table with extra columns'
json\t'JSON with stable field names'
yaml\t'YAML with stable field names'
name\t'resource/name per line'
tree\t'Ownership tree (volumes)'"
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l request-timeout -d 'Time to wait for one API request before giving up (e.g. 5s, 1m; 0 = no limit)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l as-group -d 'Group to impersonate for the operation (repeatable)' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -s v -l v -d 'Log verbosity: -v logs API calls, -v=6 and up adds request details' -r
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l no-pause -d 'Run every stage straight through instead of waiting for Enter before each'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l use-current-context -d 'Use the cluster of the current kubeconfig context (in a new namespace, deleted afterwards) instead of a built-in sandbox'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l keep -d 'Keep what the demo created: the sandbox\'s data directory, or the namespace'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -s A -l all-namespaces -d 'List across all namespaces (commands that list)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l no-color -d 'Never colour output (also: NO_COLOR in the environment)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -l insecure-skip-tls-verify -d 'Do not check the server\'s certificate (insecure)'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-sts -n "__fish_kubectl_sts_using_subcommand demo" -s V -l version -d 'Print version'
