// Tests of the `bylaw` pipeline step (jenkins/vars/bylaw.groovy) without a
// Jenkins: the step runs under plain Groovy (Debian's 2.4) with every
// pipeline step it calls replaced by a stub that records the call and its
// arguments and answers like Jenkins would (`error` throws, `sh` returns a
// status or stdout, files live in a fake workspace). Each case asserts the
// calls a user's build would see. Shell quoting is checked by running the
// generated command with a real `sh -e` against a stand-in binary that
// records its argv.
//
//   groovy jenkins/test/BylawStepTest.groovy        (exits 1 when a case fails)
//
// Run by crates/bylaw-cli/tests/jenkins_library.rs (cargo test).

File here = new File(getClass().protectionDomain.codeSource.location.toURI()).parentFile
File library = here.parentFile
File stepFile = new File(library, 'vars/bylaw.groovy')
Class stepClass = new GroovyClassLoader(getClass().classLoader).parseClass(stepFile)

/** What `error` throws in Jenkins (hudson.AbortException). */
class AbortException extends RuntimeException {
    AbortException(String message) { super(message) }
}

/** A recorded step call. */
class Call {
    String step
    Object args
    /** The block steps (withEnv, withCredentials) it ran inside, outermost first. */
    List<String> inside
    /** The environment it saw. */
    Map<String, String> env

    String toString() { "$step($args)" + (inside ? " inside $inside" : '') }
}

/** The stubbed pipeline: steps, environment, workspace files, recorded calls. */
class Pipeline {
    File library
    List<Call> calls = []
    Map<String, String> env = [WORKSPACE: '/ws', BRANCH_NAME: 'main']
    Map<String, String> files = [:]
    List<String> inside = []
    String result = 'SUCCESS'
    /** What `command -v bylaw` prints. */
    String onPath = ''
    /** What `bylaw ci jenkins` exits with and writes. */
    int exitCode = 0
    String outputs = null
    boolean writesSarif = true
    /** The secret behind a credentials id. */
    Map<String, String> secrets = ['bylaw-scm-token': 's3cr3t-t0ken']
    /** Answers to `sh`: a closure given the call's Map, or null for the default. */
    Closure onSh = null
    Object returned = null
    AbortException thrown = null
    /** The compiled vars/bylaw.groovy. */
    Class stepClass

    Call record(String step, Object args) {
        Call c = new Call(step: step, args: args, inside: new ArrayList(inside), env: new LinkedHashMap(env))
        calls << c
        c
    }

    List<Call> named(String step) { calls.findAll { it.step == step } }

    Call only(String step) {
        List<Call> found = named(step)
        assert found.size() == 1: "expected one $step call, got $found"
        found[0]
    }

    int indexOf(Call c) { calls.indexOf(c) }

    /** The `sh` that runs `bylaw ci jenkins`. */
    Call run() {
        List<Call> found = named('sh').findAll { it.args.script.contains(' \'ci\' \'jenkins\'') }
        assert found.size() == 1: "expected one bylaw ci jenkins run, got ${named('sh')}"
        found[0]
    }

    Object sh(Map args) {
        record('sh', args)
        if (onSh != null) {
            return onSh(args)
        }
        String script = args.script
        if (script.contains('command -v bylaw')) {
            assert args.returnStdout == true
            return onPath + '\n'
        }
        if (script == 'bash .bylaw/install.sh') {
            assert args.returnStdout == true
            assert files['.bylaw/install.sh'] != null: 'the install script is written before it runs'
            return env.BYLAW_INSTALL_DIR + '/bylaw\n'
        }
        if (script.contains(' \'ci\' \'jenkins\'')) {
            assert args.returnStatus == true
            if (outputs != null) {
                files['bylaw-outputs.txt'] = outputs
            }
            if (writesSarif) {
                files['bylaw.sarif'] = '{"version": "2.1.0", "runs": []}'
                files['bylaw-junit.xml'] = '<testsuites/>'
            }
            return exitCode
        }
        throw new IllegalStateException("unexpected sh script: $script")
    }

    Object block(String step, Object args, Map<String, String> vars, Closure body) {
        record(step, args)
        Map<String, String> saved = new LinkedHashMap(env)
        env.putAll(vars)
        inside << step
        try {
            return body()
        } finally {
            inside.remove(inside.size() - 1)
            env.clear()
            env.putAll(saved)
        }
    }

    Binding binding() {
        Binding b = new Binding()
        b.setVariable('env', env)
        b.setVariable('sh', { Map a -> sh(a) })
        b.setVariable('junit', { Map a -> record('junit', a); null })
        b.setVariable('recordIssues', { Map a -> record('recordIssues', a); null })
        b.setVariable('sarif', { Map a -> record('sarif', a); [tool: 'sarif'] + a })
        b.setVariable('archiveArtifacts', { Map a -> record('archiveArtifacts', a); null })
        b.setVariable('echo', { Object m -> record('echo', m.toString()); null })
        b.setVariable('error', { Object m ->
            record('error', m.toString())
            result = 'FAILURE'
            throw new AbortException(m.toString())
        })
        b.setVariable('unstable', { Object m -> record('unstable', m.toString()); result = 'UNSTABLE'; null })
        b.setVariable('string', { Map a -> record('string', a); [binding: 'string'] + a })
        b.setVariable('withEnv', { List vars, Closure body ->
            Map<String, String> add = [:]
            for (Object v in vars) {
                String s = v.toString()
                add[s.substring(0, s.indexOf('='))] = s.substring(s.indexOf('=') + 1)
            }
            block('withEnv', vars.collect { it.toString() }, add, body)
        })
        b.setVariable('withCredentials', { List bindings, Closure body ->
            Map<String, String> add = [:]
            for (Map binding in bindings) {
                assert binding.binding == 'string'
                String secret = secrets[binding.credentialsId]
                if (secret == null) {
                    throw new AbortException("Could not find credentials entry with ID '${binding.credentialsId}'")
                }
                add[binding.variable] = secret
            }
            block('withCredentials', bindings, add, body)
        })
        b.setVariable('libraryResource', { String path ->
            record('libraryResource', path)
            File f = new File(library, 'resources/' + path)
            if (!f.isFile() || java.nio.file.Files.isSymbolicLink(f.toPath())) {
                throw new AbortException("No such library resource $path could be found.")
            }
            f.text
        })
        b.setVariable('writeFile', { Map a -> record('writeFile', a); files[a.file] = a.text; null })
        b.setVariable('readFile', { Object a ->
            record('readFile', a)
            String f = a instanceof Map ? a.file : a.toString()
            if (!files.containsKey(f)) {
                throw new FileNotFoundException(f)
            }
            files[f]
        })
        b.setVariable('fileExists', { Object f -> record('fileExists', f.toString()); files.containsKey(f.toString()) })
        b
    }

    /** Runs `bylaw(args)` as a Jenkinsfile would. */
    Pipeline step(Map args) {
        Script s = (Script) stepClass.newInstance()
        s.binding = binding()
        try {
            returned = s.invokeMethod('call', args == null ? [] as Object[] : [args] as Object[])
        } catch (AbortException e) {
            thrown = e
        }
        this
    }
}

/** `@Library('bylaw') _` in a Jenkinsfile. */
@interface Library {
    String[] value()
}

/**
 * Declarative Pipeline, just enough to walk a Jenkinsfile: every block is
 * entered, `stage` names and `bylaw` calls are recorded.
 */
class Declarative {
    List<Map> bylawCalls = []
    List<String> stages = []

    def methodMissing(String name, Object args) {
        Object[] a = args as Object[]
        if (name == 'bylaw') {
            bylawCalls << (a.length > 0 ? (Map) a[0] : [:])
            return [verdict: 'pass', blocking: 0, advisory: 0, excepted: 0, exitCode: 0]
        }
        if (name == 'stage') {
            stages << a[0].toString()
        }
        for (Object x in a) {
            if (x instanceof Closure) {
                Closure body = ((Closure) x).rehydrate(this, this, this)
                body.resolveStrategy = Closure.DELEGATE_FIRST
                body()
            }
        }
        null
    }

    def propertyMissing(String name) { name }
}

// ---- the cases ------------------------------------------------------------

Map<String, Closure> cases = [:]
def newPipeline = { -> new Pipeline(library: library, stepClass: stepClass) }
String q = "'\\''"

String defaultRun = "rm -f -- 'bylaw.sarif' 'bylaw-junit.xml' 'bylaw-outputs.txt' || true\n" +
    "'/opt/bylaw' 'ci' 'jenkins' '--sarif' 'bylaw.sarif' '--junit' 'bylaw-junit.xml' " +
    "'--outputs' 'bylaw-outputs.txt' '--scm' 'auto'"

/** The reports are recorded, with these arguments, after the run and before the call at index `before` (-1: no such call). */
def assertPublished = { Pipeline p, int before ->
    Call run = p.run()
    Call junit = p.only('junit')
    assert junit.args == [testResults: 'bylaw-junit.xml', allowEmptyResults: true, skipMarkingBuildUnstable: true]
    Call issues = p.only('recordIssues')
    assert issues.args.tools == [[tool: 'sarif', pattern: 'bylaw.sarif', id: 'bylaw', name: 'bylaw']]
    assert issues.args.enabledForFailure == true
    Call archive = p.only('archiveArtifacts')
    assert archive.args == [artifacts: 'bylaw.sarif,bylaw-junit.xml,bylaw-outputs.txt', allowEmptyArchive: true]
    for (Call c in [junit, issues, archive]) {
        assert p.indexOf(run) < p.indexOf(c)
        assert before < 0 || p.indexOf(c) < before: "$c must come before the build result is set"
    }
}

cases['a passing run records the reports and returns the outputs'] = {
    Pipeline p = newPipeline()
    p.outputs = 'verdict=pass\nblocking=0\nadvisory=0\nexcepted=1\n'
    p.step(bin: '/opt/bylaw')
    assert p.thrown == null
    assert p.returned == [verdict: 'pass', blocking: 0, advisory: 0, excepted: 1, exitCode: 0]
    assert p.result == 'SUCCESS'
    Call run = p.run()
    assert run.args == [label: 'bylaw ci jenkins', script: defaultRun, returnStatus: true]
    assert run.inside == []
    assert p.named('sh').size() == 1: 'bin given: no lookup, no installation'
    assert p.named('withCredentials').isEmpty()
    assert p.named('unstable').isEmpty() && p.named('error').isEmpty()
    assertPublished(p, -1)
    assert p.only('readFile').args == 'bylaw-outputs.txt'
}

cases['advisory findings leave the build green without unstableOnAdvisory'] = {
    Pipeline p = newPipeline()
    p.outputs = 'verdict=pass\nblocking=0\nadvisory=2\nexcepted=0\n'
    p.step(bin: '/opt/bylaw')
    assert p.thrown == null
    assert p.result == 'SUCCESS'
    assert p.named('unstable').isEmpty()
    assert p.returned.advisory == 2 && p.returned.verdict == 'pass'
}

cases['advisory findings make the build UNSTABLE with unstableOnAdvisory'] = {
    Pipeline p = newPipeline()
    p.outputs = 'verdict=pass\nblocking=0\nadvisory=2\nexcepted=0\n'
    p.step(bin: '/opt/bylaw', unstableOnAdvisory: true)
    assert p.thrown == null
    assert p.result == 'UNSTABLE'
    Call unstable = p.only('unstable')
    assert unstable.args == 'bylaw: 2 advisory finding(s)'
    assertPublished(p, p.indexOf(unstable))
    assert p.returned == [verdict: 'pass', blocking: 0, advisory: 2, excepted: 0, exitCode: 0]
}

cases['no findings and unstableOnAdvisory leave the build green'] = {
    Pipeline p = newPipeline()
    p.outputs = 'verdict=pass\nblocking=0\nadvisory=0\nexcepted=0\n'
    p.step(bin: '/opt/bylaw', unstableOnAdvisory: true)
    assert p.thrown == null && p.result == 'SUCCESS' && p.named('unstable').isEmpty()
}

cases['blocking findings (exit 1) fail the build after the reports are recorded'] = {
    Pipeline p = newPipeline()
    p.exitCode = 1
    p.outputs = 'verdict=fail\nblocking=3\nadvisory=1\nexcepted=0\n'
    p.step(bin: '/opt/bylaw', unstableOnAdvisory: true)
    assert p.thrown != null
    assert p.thrown.message == 'bylaw: 3 blocking finding(s)'
    assert p.result == 'FAILURE'
    Call error = p.only('error')
    assertPublished(p, p.indexOf(error))
    assert p.named('unstable').isEmpty()
}

cases['failOn advisory: the advisory findings that fail the build are named'] = {
    Pipeline p = newPipeline()
    p.exitCode = 1
    p.outputs = 'verdict=fail\nblocking=0\nadvisory=2\nexcepted=0\n'
    p.step(bin: '/opt/bylaw', failOn: 'advisory')
    assert p.run().args.script.endsWith("'--fail-on' 'advisory' '--sarif' 'bylaw.sarif' '--junit' 'bylaw-junit.xml' " +
        "'--outputs' 'bylaw-outputs.txt' '--scm' 'auto'")
    assert p.thrown.message == 'bylaw: 2 advisory finding(s) (fail-on: advisory)'
}

cases['failOn never with unstableOnAdvisory: remaining blocking findings make it UNSTABLE'] = {
    Pipeline p = newPipeline()
    p.outputs = 'verdict=pass\nblocking=1\nadvisory=2\nexcepted=0\n'
    p.step(bin: '/opt/bylaw', failOn: 'never', unstableOnAdvisory: true)
    assert p.thrown == null
    assert p.only('unstable').args == 'bylaw: 1 blocking and 2 advisory finding(s) (fail-on: never)'
}

cases['a configuration or policy error (exit 2) fails the build with that explanation'] = {
    Pipeline p = newPipeline()
    p.exitCode = 2
    p.writesSarif = false
    p.files['bylaw-junit.xml'] = '<testsuites/>' // whatever a run left behind is never recorded as SARIF
    p.step(bin: '/opt/bylaw')
    assert p.thrown != null
    assert p.thrown.message.startsWith('bylaw: configuration or policy error (exit code 2)')
    Call error = p.only('error')
    // junit and archive still run (both tolerate missing files); no SARIF, so no
    // empty Warnings NG result that would read as "all issues fixed"
    assert p.indexOf(p.only('junit')) < p.indexOf(error)
    assert p.indexOf(p.only('archiveArtifacts')) < p.indexOf(error)
    assert p.named('recordIssues').isEmpty()
    assert p.named('echo').any { it.args == 'bylaw: no bylaw.sarif was written; no issues recorded' }
}

cases['another exit code (the binary is missing: 127) fails the build'] = {
    Pipeline p = newPipeline()
    p.exitCode = 127
    p.writesSarif = false
    p.step(bin: '/opt/bylaw')
    assert p.thrown.message == 'bylaw: failed with exit code 127: see the messages above'
}

cases['no outputs file: counts are null, the exit code still decides'] = {
    Pipeline p = newPipeline()
    p.step(bin: '/opt/bylaw')
    assert p.thrown == null
    assert p.returned == [verdict: null, blocking: null, advisory: null, excepted: null, exitCode: 0]
    assert p.named('readFile').isEmpty(): 'fileExists is asked first'
    Pipeline failing = newPipeline()
    failing.exitCode = 1
    failing.step(bin: '/opt/bylaw')
    assert failing.thrown.message.startsWith('bylaw: findings fail the build (no outputs file')
}

cases['version given: the library\'s install script is written and run with the version'] = {
    Pipeline p = newPipeline()
    p.onPath = '/usr/bin/bylaw' // ignored: a version asks for that version
    p.outputs = 'verdict=pass\nblocking=0\nadvisory=0\nexcepted=0\n'
    p.step(version: '1.2.3')
    assert p.thrown == null
    Call resource = p.only('libraryResource')
    assert resource.args == 'io/bylaw/install.sh'
    String script = new File(library, 'resources/io/bylaw/install.sh').text
    assert script.startsWith('#!/usr/bin/env bash')
    Call write = p.only('writeFile')
    assert write.args == [file: '.bylaw/install.sh', text: script]
    Call withEnv = p.only('withEnv')
    assert withEnv.args == ['BYLAW_VERSION=1.2.3', 'BYLAW_INSTALL_DIR=.bylaw/bin']
    List<Call> shs = p.named('sh')
    assert shs.size() == 2: "install, then run: $shs"
    Call install = shs[0]
    assert install.args == [label: 'install bylaw 1.2.3', returnStdout: true, script: 'bash .bylaw/install.sh']
    assert install.inside == ['withEnv']
    assert install.env.BYLAW_VERSION == '1.2.3' && install.env.BYLAW_INSTALL_DIR == '.bylaw/bin'
    assert p.indexOf(resource) < p.indexOf(write) && p.indexOf(write) < p.indexOf(install)
    assert p.run().args.script.split('\n')[1].startsWith("'.bylaw/bin/bylaw' 'ci' 'jenkins' ")
    assert p.run().inside == []: 'the run is outside withEnv'
    assert !p.run().env.containsKey('BYLAW_VERSION')
}

cases['installDir and the last stdout line of the install script'] = {
    Pipeline p = newPipeline()
    p.onSh = { Map a ->
        if (a.script == 'bash .bylaw/install.sh') {
            return 'noise from a tool\n/opt/tools/bylaw/bylaw\n'
        }
        0
    }
    p.step(version: 'v0.1.0', installDir: '/opt/tools/bylaw')
    assert p.only('withEnv').args == ['BYLAW_VERSION=v0.1.0', 'BYLAW_INSTALL_DIR=/opt/tools/bylaw']
    assert p.run().args.script.split('\n')[1].startsWith("'/opt/tools/bylaw/bylaw' 'ci' 'jenkins' ")
}

cases['no version: bylaw on the agent\'s PATH is used, nothing installed'] = {
    Pipeline p = newPipeline()
    p.onPath = '/usr/local/bin/bylaw'
    p.step([:])
    assert p.thrown == null
    Call lookup = p.named('sh')[0]
    assert lookup.args == [label: 'find bylaw', returnStdout: true, script: 'command -v bylaw || true']
    assert p.named('libraryResource').isEmpty() && p.named('writeFile').isEmpty() && p.named('withEnv').isEmpty()
    assert p.run().args.script.split('\n')[1].startsWith("'/usr/local/bin/bylaw' 'ci' 'jenkins' ")
}

cases['no version and no bylaw on PATH: an error that says what to pass'] = {
    Pipeline p = newPipeline()
    p.step()
    assert p.thrown != null
    assert p.thrown.message == "bylaw: no bylaw on this agent's PATH: pass version: 'X.Y.Z' to install a release, " +
        "or bin: '/path/to/bylaw'"
    assert p.named('sh').size() == 1: 'only the lookup ran'
    assert p.named('junit').isEmpty()
}

cases['tokenCredentialsId: the token is bound to BYLAW_SCM_TOKEN around the run, never on the command line'] = {
    Pipeline p = newPipeline()
    p.outputs = 'verdict=pass\nblocking=0\nadvisory=0\nexcepted=0\n'
    p.step(bin: '/opt/bylaw', tokenCredentialsId: 'bylaw-scm-token', scm: 'github', comment: 'always')
    assert p.thrown == null
    Call binding = p.only('string')
    assert binding.args == [credentialsId: 'bylaw-scm-token', variable: 'BYLAW_SCM_TOKEN']
    Call creds = p.only('withCredentials')
    assert creds.args == [[binding: 'string', credentialsId: 'bylaw-scm-token', variable: 'BYLAW_SCM_TOKEN']]
    Call run = p.run()
    assert run.inside == ['withCredentials']
    assert run.env.BYLAW_SCM_TOKEN == 's3cr3t-t0ken'
    assert run.args.script.endsWith("'--scm' 'github' '--comment' 'always'")
    for (Call c in p.calls) {
        assert !c.args.toString().contains('s3cr3t-t0ken'): "the token leaked into $c.step"
    }
    assert !run.args.script.toLowerCase().contains('token')
    // the reports are recorded outside the credentials block
    assert p.only('junit').inside == [] && p.only('recordIssues').inside == []
}

cases['no tokenCredentialsId: no credentials are bound'] = {
    Pipeline p = newPipeline()
    p.step(bin: '/opt/bylaw')
    assert p.named('withCredentials').isEmpty() && p.named('string').isEmpty()
    assert !p.run().env.containsKey('BYLAW_SCM_TOKEN')
}

cases['unknown credentials id: the Credentials Binding error stops the step'] = {
    Pipeline p = newPipeline()
    p.step(bin: '/opt/bylaw', tokenCredentialsId: 'nope')
    assert p.thrown.message == "Could not find credentials entry with ID 'nope'"
    assert p.named('sh').isEmpty()
}

cases['every argument reaches bylaw intact through the shell (spaces, quotes, $, ;, leading -)'] = {
    File tmp = File.createTempDir()
    try {
        File binDir = new File(tmp, "bin dir 'with' \$HOME")
        binDir.mkdirs()
        File bin = new File(binDir, 'bylaw')
        // a stand-in bylaw: records its argv (NUL-separated) and any stale report it sees
        bin.text = '#!/bin/sh\n' +
            'for f in bylaw.sarif bylaw-junit.xml bylaw-outputs.txt; do [ -e "$f" ] && echo "$f" >> stale.txt; done\n' +
            'printf \'%s\\0\' "$@" > argv.bin\n' +
            'exit 1\n'
        bin.setExecutable(true)
        for (String stale in ['bylaw.sarif', 'bylaw-junit.xml', 'bylaw-outputs.txt']) {
            new File(tmp, stale).text = 'from an earlier build'
        }
        Pipeline p = newPipeline()
        p.onSh = { Map a ->
            Process proc = new ProcessBuilder('sh', '-e', '-c', a.script).directory(tmp).redirectErrorStream(true).start()
            String out = proc.inputStream.text
            int code = proc.waitFor()
            assert code == 1: "sh -e -c exited $code: $out"
            code
        }
        p.step(bin: bin.path,
            paths: ["dir with space/it's.yaml", '-starts-with-dash', 'a;b', 'x"y'],
            policies: ["pol'icy"],
            exceptions: 'exceptions/*.yaml',
            env: 'prod $(touch pwned) `touch pwned2`',
            config: 'ci/.bylaw.yaml',
            args: ['--changed-only', "it's \\ fine"])
        assert p.thrown != null
        List<String> argv = new String(new File(tmp, 'argv.bin').bytes, 'UTF-8').split('\0') as List
        assert argv == ['ci', 'jenkins',
                        '--policy', "pol'icy",
                        '--config', 'ci/.bylaw.yaml',
                        '--env', 'prod $(touch pwned) `touch pwned2`',
                        '--exceptions', 'exceptions/*.yaml',
                        '--sarif', 'bylaw.sarif', '--junit', 'bylaw-junit.xml', '--outputs', 'bylaw-outputs.txt',
                        '--scm', 'auto',
                        '--changed-only', "it's \\ fine",
                        '--',
                        "dir with space/it's.yaml", '-starts-with-dash', 'a;b', 'x"y']
        assert !new File(tmp, 'pwned').exists() && !new File(tmp, 'pwned2').exists()
        assert !new File(tmp, 'stale.txt').exists(): "reports of an earlier build were not removed: ${new File(tmp, 'stale.txt').text}"
        assert p.run().args.script.contains("'pol${q}icy'")
    } finally {
        tmp.deleteDir()
    }
}

cases['a GString or a List of one String is accepted; empty Strings count as unset'] = {
    Pipeline p = newPipeline()
    String dir = 'policies'
    p.step(bin: '/opt/bylaw', policies: "${dir}/ci", paths: ['.'], version: '', env: '')
    assert p.thrown == null
    assert p.run().args.script.endsWith("'--scm' 'auto' '--' '.'")
    assert p.run().args.script.contains("'--policy' 'policies/ci'")
    assert !p.run().args.script.contains('--env')
    assert p.named('libraryResource').isEmpty()
}

cases['custom report names are written, recorded and archived'] = {
    Pipeline p = newPipeline()
    p.step(bin: '/opt/bylaw', sarif: 'reports/b.sarif', junit: 'reports/b.xml', outputs: 'reports/b.txt')
    assert p.run().args.script.startsWith("rm -f -- 'reports/b.sarif' 'reports/b.xml' 'reports/b.txt' || true\n")
    assert p.run().args.script.contains("'--sarif' 'reports/b.sarif' '--junit' 'reports/b.xml' '--outputs' 'reports/b.txt'")
    assert p.only('junit').args.testResults == 'reports/b.xml'
    assert p.only('archiveArtifacts').args.artifacts == 'reports/b.sarif,reports/b.xml,reports/b.txt'
    assert p.named('fileExists')*.args == ['reports/b.sarif', 'reports/b.txt']
}

cases['the example Jenkinsfile loads the library and calls the step with arguments it accepts'] = {
    File jenkinsfile = new File(library.parentFile, 'examples/jenkins/Jenkinsfile')
    String text = jenkinsfile.text
    assert text.readLines().contains("@Library('bylaw') _")
    assert text.contains('Library Path:      jenkins/')
    Declarative dsl = new Declarative()
    Binding b = new Binding()
    b.setVariable('pipeline', { Closure body -> dsl.methodMissing('pipeline', [body] as Object[]) })
    new GroovyShell(getClass().classLoader, b).evaluate(text, 'Jenkinsfile')
    assert dsl.stages == ['Policies']
    assert dsl.bylawCalls.size() == 1
    Map args = dsl.bylawCalls[0]
    assert args.tokenCredentialsId == 'bylaw-scm-token' && args.unstableOnAdvisory == true
    Pipeline p = newPipeline()
    p.outputs = 'verdict=pass\nblocking=0\nadvisory=1\nexcepted=0\n'
    p.step(args)
    assert p.thrown == null
    assert p.only('withEnv').args[0] == 'BYLAW_VERSION=' + args.version
    assert p.run().inside == ['withCredentials']
    assert p.run().args.script.contains("'--policy' 'policies'")
    assert p.result == 'UNSTABLE'
}

Map<String, Object> invalid = [
    'unknown parameter'         : [[polices: 'p'],
                                   "bylaw: unknown parameter 'polices' (did you mean 'policies'?); the parameters are: " +
                                       'policies, paths, config, env, failOn, exceptions, unstableOnAdvisory, sarif, ' +
                                       'junit, outputs, scm, comment, tokenCredentialsId, bin, version, installDir, args'],
    'two unknown parameters'    : [[fail_on: 'never', frobnicate: true],
                                   "bylaw: unknown parameters 'fail_on' (did you mean 'failOn'?), 'frobnicate'; the parameters are: "],
    'bad failOn'                : [[failOn: 'warning'], "bylaw: failOn must be one of blocking, advisory, never, not 'warning'"],
    'bad scm'                   : [[scm: 'bitbucket'], "bylaw: scm must be one of auto, github, gitlab, none, not 'bitbucket'"],
    'bad comment'               : [[comment: 'sometimes'], "bylaw: comment must be one of always, on-failure, never, not 'sometimes'"],
    'paths not a String or List': [[paths: 42], "bylaw: paths must be a String or a List of Strings, not '42'"],
    'empty item in policies'    : [[policies: ['a', '']], "bylaw: policies must hold non-empty Strings, not ''"],
    'unstableOnAdvisory a String': [[unstableOnAdvisory: 'yes'], "bylaw: unstableOnAdvisory must be true or false, not 'yes'"],
    'args a String'             : [[args: '--changed-only'], 'bylaw: args must be a List of command-line arguments'],
    'version not a String'      : [[version: 1.2], "bylaw: version must be a String, not '1.2'"],
    'a comma in a report name'  : [[sarif: 'a.sarif,b.sarif'], 'bylaw: sarif must be a file name without commas'],
]
invalid.each { String name, List spec ->
    cases["invalid arguments: $name".toString()] = {
        Pipeline p = newPipeline()
        p.step(spec[0] as Map)
        assert p.thrown != null: 'the step must refuse its arguments'
        assert p.thrown.message.startsWith(spec[1] as String)
        assert p.named('sh').isEmpty(): 'nothing runs'
        assert p.result == 'FAILURE'
    }
}

// ---- runner -------------------------------------------------------------------

long started = System.nanoTime()
List<String> failed = []
cases.each { String name, Closure test ->
    try {
        test()
        println "ok   - $name"
    } catch (Throwable t) {
        failed << name
        println "FAIL - $name"
        println t.toString().readLines().collect { '       ' + it }.join('\n')
    }
}
printf('%d cases, %d failed (%.1f s)%n', cases.size(), failed.size(), (System.nanoTime() - started) / 1e9)
if (failed) {
    println 'failed:'
    failed.each { println "  $it" }
    System.exit(1)
}
