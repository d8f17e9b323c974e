// bylaw: a Jenkins Pipeline step that checks the workspace against policies
// with `bylaw ci jenkins` and shows the result in the build.
//
// It finds (or installs) the bylaw binary, runs it, and then, whatever the
// outcome, records the JUnit report (JUnit plugin), the SARIF report as
// "bylaw" issues (Warnings NG) and archives the three output files. The
// build result follows bylaw's exit code: 1 (findings that fail the run) is
// FAILURE, 2 (a usage, configuration or policy error) is FAILURE with that
// explanation, and 0 with advisory findings is UNSTABLE when
// `unstableOnAdvisory` is set. Runs on Unix agents (`sh`).
//
//   bylaw(policies: 'policies', unstableOnAdvisory: true, tokenCredentialsId: 'bylaw-scm-token')
//
// Parameters (all optional):
//   policies            String or List: policy files or directories (--policy, repeated);
//                       default: `policies` of .bylaw.yaml
//   paths               String or List: files or directories to check; a String is one
//                       path; default: `paths` of .bylaw.yaml, else the workspace
//   config              project config file (--config); default: .bylaw.yaml if present
//   env                 environment to evaluate for (--env: dev, test, prod, ...);
//                       default: from the branch patterns of .bylaw.yaml
//   failOn              'blocking', 'advisory' or 'never': which findings fail the build
//                       (--fail-on); default: `fail_on` of .bylaw.yaml, else 'blocking'
//   exceptions          String or List: exception list files (--exceptions, repeated)
//   unstableOnAdvisory  true: mark the build UNSTABLE when findings remain that did not
//                       fail it (advisory ones); default false
//   sarif               SARIF file to write and record (default 'bylaw.sarif')
//   junit               JUnit XML file to write and record (default 'bylaw-junit.xml')
//   outputs             key=value summary file (default 'bylaw-outputs.txt')
//   scm                 'auto', 'github', 'gitlab' or 'none': which SCM's API to publish
//                       the result to (PR/MR comment) (default 'auto': from the job's SCM)
//   comment             'always', 'on-failure' or 'never': when to upsert the PR/MR
//                       comment (default: bylaw's, 'on-failure')
//   tokenCredentialsId  id of a "Secret text" credential holding the SCM API token; it is
//                       bound to BYLAW_SCM_TOKEN for bylaw, never put on the command line.
//                       Without it, bylaw only reports in the build (no comment, no status).
//   bin                 path of a bylaw binary already on the agent (skips installation)
//   version             bylaw release to install (e.g. '0.1.0'); without it, `bylaw`
//                       on the agent's PATH is used
//   installDir          where to install it (default '.bylaw/bin' in the workspace)
//   args                List of extra arguments for `bylaw ci jenkins`
//
// Returns a Map: [verdict: 'pass'|'fail', blocking: N, advisory: N, excepted: N,
// exitCode: N] (values null when bylaw wrote no outputs file). When the step
// fails the build it throws instead, like the `error` step.
//
// Written for Pipeline's CPS interpreter: plain loops, no closures beyond the
// step blocks, no @NonCPS. It also runs under plain Groovy 2.4, which is how
// jenkins/test/BylawStepTest.groovy tests it.

def call(Map args = [:]) {
    Map opts = bylawOptions(args)
    String bin = bylawBinary(opts)
    List cli = bylawCommand(bin, opts)
    // Files left by an earlier build of a reused workspace must not pass
    // for this build's results.
    String command = 'rm -f -- ' + shellQuote(opts.sarif) + ' ' + shellQuote(opts.junit) + ' ' +
        shellQuote(opts.outputs) + ' || true\n' + shellJoin(cli)
    int status = 0
    if (opts.tokenCredentialsId) {
        withCredentials([string(credentialsId: opts.tokenCredentialsId, variable: 'BYLAW_SCM_TOKEN')]) {
            status = sh(label: 'bylaw ci jenkins', script: command, returnStatus: true)
        }
    } else {
        status = sh(label: 'bylaw ci jenkins', script: command, returnStatus: true)
    }

    bylawPublish(opts)

    Map result = bylawOutputs(opts.outputs)
    result.exitCode = status
    if (status == 2) {
        error('bylaw: configuration or policy error (exit code 2): see bylaw\'s messages above')
    }
    if (status == 1) {
        error('bylaw: ' + failureSummary(result))
    }
    if (status != 0) {
        error('bylaw: failed with exit code ' + status + ': see the messages above')
    }
    Integer advisory = result.advisory == null ? 0 : result.advisory
    Integer blocking = result.blocking == null ? 0 : result.blocking
    if (opts.unstableOnAdvisory && advisory + blocking > 0) {
        if (blocking > 0) {
            unstable('bylaw: ' + blocking + ' blocking and ' + advisory + ' advisory finding(s) (fail-on: never)')
        } else {
            unstable('bylaw: ' + advisory + ' advisory finding(s)')
        }
    }
    return result
}

/** The parameters, checked, with defaults filled in. */
Map bylawOptions(Map args) {
    if (args == null) {
        args = [:]
    }
    List known = ['policies', 'paths', 'config', 'env', 'failOn', 'exceptions', 'unstableOnAdvisory',
                  'sarif', 'junit', 'outputs', 'scm', 'comment', 'tokenCredentialsId', 'bin', 'version',
                  'installDir', 'args']
    List unknown = []
    for (Object key in new ArrayList(args.keySet())) {
        if (!known.contains(key.toString())) {
            String hint = closestName(key.toString(), known)
            unknown.add('\'' + key + '\'' + (hint ? ' (did you mean \'' + hint + '\'?)' : ''))
        }
    }
    if (!unknown.isEmpty()) {
        error('bylaw: unknown parameter' + (unknown.size() > 1 ? 's ' : ' ') + unknown.join(', ') +
            '; the parameters are: ' + known.join(', '))
    }
    Map opts = [:]
    opts.policies = listParam(args, 'policies')
    opts.paths = listParam(args, 'paths')
    opts.exceptions = listParam(args, 'exceptions')
    opts.config = textParam(args, 'config', null)
    opts.env = textParam(args, 'env', null)
    opts.failOn = choiceParam(args, 'failOn', ['blocking', 'advisory', 'never'])
    opts.scm = choiceParam(args, 'scm', ['auto', 'github', 'gitlab', 'none'])
    if (opts.scm == null) {
        opts.scm = 'auto'
    }
    opts.comment = choiceParam(args, 'comment', ['always', 'on-failure', 'never'])
    opts.sarif = textParam(args, 'sarif', 'bylaw.sarif')
    opts.junit = textParam(args, 'junit', 'bylaw-junit.xml')
    opts.outputs = textParam(args, 'outputs', 'bylaw-outputs.txt')
    for (String key in ['sarif', 'junit', 'outputs']) {
        if (opts[key].contains(',')) {
            error('bylaw: ' + key + ' must be a file name without commas (Jenkins reads it as a pattern list), not \'' +
                opts[key] + '\'')
        }
    }
    opts.tokenCredentialsId = textParam(args, 'tokenCredentialsId', null)
    opts.bin = textParam(args, 'bin', null)
    opts.version = textParam(args, 'version', null)
    opts.installDir = textParam(args, 'installDir', '.bylaw/bin')
    Object unstableOnAdvisory = args.unstableOnAdvisory
    if (unstableOnAdvisory != null && !(unstableOnAdvisory instanceof Boolean)) {
        error('bylaw: unstableOnAdvisory must be true or false, not \'' + unstableOnAdvisory + '\'')
    }
    opts.unstableOnAdvisory = unstableOnAdvisory == true
    Object extra = args.args
    opts.args = []
    if (extra != null) {
        if (!(extra instanceof List)) {
            error('bylaw: args must be a List of command-line arguments, e.g. args: [\'--changed-only\'], not \'' +
                extra + '\'')
        }
        for (Object a in extra) {
            if (!(a instanceof CharSequence)) {
                error('bylaw: args must hold Strings, not \'' + a + '\'')
            }
            opts.args.add(a.toString())
        }
    }
    return opts
}

/** A String or a List of Strings, as a List; empty when unset. */
List listParam(Map args, String key) {
    Object value = args[key]
    List out = []
    if (value == null) {
        return out
    }
    if (value instanceof CharSequence) {
        if (value.toString() != '') {
            out.add(value.toString())
        }
        return out
    }
    if (value instanceof List) {
        for (Object item in value) {
            if (!(item instanceof CharSequence) || item.toString() == '') {
                error('bylaw: ' + key + ' must hold non-empty Strings, not \'' + item + '\'')
            }
            out.add(item.toString())
        }
        return out
    }
    error('bylaw: ' + key + ' must be a String or a List of Strings, not \'' + value + '\'')
    return out
}

/** A String parameter; an empty String counts as unset. */
String textParam(Map args, String key, String fallback) {
    Object value = args[key]
    if (value == null || (value instanceof CharSequence && value.toString() == '')) {
        return fallback
    }
    if (!(value instanceof CharSequence)) {
        error('bylaw: ' + key + ' must be a String, not \'' + value + '\'')
    }
    return value.toString()
}

/** One of `allowed`, or null when unset. */
String choiceParam(Map args, String key, List allowed) {
    String value = textParam(args, key, null)
    if (value != null && !allowed.contains(value)) {
        error('bylaw: ' + key + ' must be one of ' + allowed.join(', ') + ', not \'' + value + '\'')
    }
    return value
}

/** The known name nearest to a misspelt one (at most two edits away), or null. */
String closestName(String name, List known) {
    String best = null
    int bestDistance = 3
    for (Object candidate in known) {
        int d = editDistance(name.toLowerCase(), candidate.toString().toLowerCase())
        if (d < bestDistance) {
            best = candidate.toString()
            bestDistance = d
        }
    }
    return best
}

int editDistance(String a, String b) {
    List previous = []
    for (int j = 0; j <= b.length(); j++) {
        previous.add(j)
    }
    for (int i = 1; i <= a.length(); i++) {
        List current = [i]
        for (int j = 1; j <= b.length(); j++) {
            int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1
            int best = Math.min((int) previous[j] + 1, (int) current[j - 1] + 1)
            current.add(Math.min(best, (int) previous[j - 1] + cost))
        }
        previous = current
    }
    return (int) previous[b.length()]
}

/** The bylaw executable to run: `bin`, else an installed `version`, else `bylaw` on PATH. */
String bylawBinary(Map opts) {
    if (opts.bin) {
        return opts.bin
    }
    if (!opts.version) {
        String found = sh(label: 'find bylaw', returnStdout: true, script: 'command -v bylaw || true').trim()
        if (found) {
            return found
        }
        error('bylaw: no bylaw on this agent\'s PATH: pass version: \'X.Y.Z\' to install a release, ' +
            'or bin: \'/path/to/bylaw\'')
    }
    writeFile(file: '.bylaw/install.sh', text: libraryResource('io/bylaw/install.sh'))
    String out = ''
    withEnv(['BYLAW_VERSION=' + opts.version, 'BYLAW_INSTALL_DIR=' + opts.installDir]) {
        out = sh(label: 'install bylaw ' + opts.version, returnStdout: true, script: 'bash .bylaw/install.sh')
    }
    // the script logs to stderr; its last line on stdout is the binary's path
    List lines = out.trim().readLines()
    if (lines.isEmpty()) {
        error('bylaw: the install script printed no binary path')
    }
    return lines[lines.size() - 1].trim()
}

/** The `bylaw ci jenkins` argument vector. */
List bylawCommand(String bin, Map opts) {
    List cli = [bin, 'ci', 'jenkins']
    for (String p in opts.policies) {
        cli.add('--policy')
        cli.add(p)
    }
    if (opts.config) {
        cli.add('--config')
        cli.add(opts.config)
    }
    if (opts.env) {
        cli.add('--env')
        cli.add(opts.env)
    }
    if (opts.failOn) {
        cli.add('--fail-on')
        cli.add(opts.failOn)
    }
    for (String e in opts.exceptions) {
        cli.add('--exceptions')
        cli.add(e)
    }
    cli.add('--sarif')
    cli.add(opts.sarif)
    cli.add('--junit')
    cli.add(opts.junit)
    cli.add('--outputs')
    cli.add(opts.outputs)
    cli.add('--scm')
    cli.add(opts.scm)
    if (opts.comment) {
        cli.add('--comment')
        cli.add(opts.comment)
    }
    cli.addAll(opts.args)
    if (!opts.paths.isEmpty()) {
        // paths are never read as options, even one starting with '-'
        cli.add('--')
        cli.addAll(opts.paths)
    }
    return cli
}

/** Records the reports in the build: JUnit, Warnings NG issues, artifacts. */
void bylawPublish(Map opts) {
    // bylaw fails the build itself (below); JUnit failures must not turn it UNSTABLE.
    junit(testResults: opts.junit, allowEmptyResults: true, skipMarkingBuildUnstable: true)
    if (fileExists(opts.sarif)) {
        recordIssues(enabledForFailure: true, tools: [sarif(pattern: opts.sarif, id: 'bylaw', name: 'bylaw')])
    } else {
        // an empty result would read as "all issues fixed" in the trend
        echo('bylaw: no ' + opts.sarif + ' was written; no issues recorded')
    }
    archiveArtifacts(artifacts: opts.sarif + ',' + opts.junit + ',' + opts.outputs, allowEmptyArchive: true)
}

/** The key=value lines of the outputs file. */
Map bylawOutputs(String file) {
    Map result = [verdict: null, blocking: null, advisory: null, excepted: null]
    if (!fileExists(file)) {
        return result
    }
    for (String line in readFile(file).readLines()) {
        int eq = line.indexOf('=')
        if (eq < 0) {
            continue
        }
        String key = line.substring(0, eq).trim()
        String value = line.substring(eq + 1).trim()
        if (key == 'verdict') {
            result.verdict = value
        } else if (key == 'blocking' || key == 'advisory' || key == 'excepted') {
            result[key] = value.isInteger() ? value.toInteger() : null
        }
    }
    return result
}

String failureSummary(Map result) {
    if (result.blocking == null) {
        return 'findings fail the build (no outputs file to count them): see bylaw\'s messages above'
    }
    if (result.blocking == 0 && result.advisory != null && result.advisory > 0) {
        return result.advisory + ' advisory finding(s) (fail-on: advisory)'
    }
    return result.blocking + ' blocking finding(s)'
}

/** One shell word: single-quoted, each ' written as '\''. */
String shellQuote(String word) {
    return '\'' + word.replace('\'', '\'\\\'\'') + '\''
}

String shellJoin(List words) {
    List quoted = []
    for (Object w in words) {
        quoted.add(shellQuote(w.toString()))
    }
    return quoted.join(' ')
}
