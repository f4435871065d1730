*** Settings ***
Documentation     Story: artifacts over HTTP. Nomad fetches a task's JAR and files from an HTTP server
...               (on loopback here) before the driver starts the JVM: downloads that work, are slow,
...               large, checksummed or fail are each handled as Nomad's artifact block and the job's
...               restart policy say, and the task user can read what was fetched.

Resource          ../../resources/scenarios.resource

Suite Setup       Start Shared Agent And Artifact Server
Suite Teardown    Stop Jobs And Check For Leaks

Test Tags         area:artifacts    story:artifacts


*** Variables ***
${READ_TIMEOUT}    2s
${SLOW_ANSWER}     6s
${LARGE_MB}        200
${NOBODY}          65534
# The agent a test starts for its teardown; still None when a Test Setup skipped it first.
${AGENT}           ${None}


*** Test Cases ***
Artifact Is Downloaded Once And Runs
    [Documentation]    A JAR artifact is fetched once, completely, and the driver runs it from local/.
    ${url}=    Get Artifact Url    hello.jar
    ${job}=    Submit Job    java-batch    jar_path=local/hello.jar    artifacts=${{ [{"source": $url}] }}
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Contain    ${job}    Hello from crunjar!
    Artifact Should Have Been Requested    hello.jar    times=1    status=200
    ${request}=    Get Artifact Requests    hello.jar
    ${size}=    Get File Size    ${JARS}/hello.jar
    Should Be True    ${request}[0][complete]
    Should Be Equal As Integers    ${request}[0][bytes_sent]    ${size}

Slow Server Beyond The Artifact Timeout Fails The Download
    [Documentation]    With the client's ``http_read_timeout`` at 2 s and a server answering after 6 s,
    ...    the download is cut at the timeout, the task fails with a Failed Artifact Download event
    ...    naming the URL and the deadline, and the JVM never starts.
    [Tags]    needs:local-agents
    ${agent}=    Start Nomad Server    name=short-timeout
    ...    config=${{ {"client": {"artifact": {"http_read_timeout": "${READ_TIMEOUT}"}}} }}
    Set Artifact Fault    slow.jar    delay=${SLOW_ANSWER}
    ${url}=    Add Artifact    ${JARS}/hello.jar    slow.jar
    ${job}=    Submit Job    java-batch    artifacts=${{ [{"source": $url}] }}    jar_path=local/slow.jar
    ...    agent=${agent}
    Wait For Task State    ${job}    dead    failed=${True}    timeout=30s    agent=${agent}
    Task Events Should Contain    ${job}    Failed Artifact Download
    ...    failed to download artifact "${{ re.escape($url) }}": .*context deadline exceeded    regexp=${True}
    ...    agent=${agent}
    Task Should Never Have Started    ${job}    agent=${agent}
    ${waited}=    Seconds Between Events    ${job}    Downloading Artifacts    Failed Artifact Download    ${agent}
    Log    The download was given up after ${waited} s (timeout ${READ_TIMEOUT}, server answers after ${SLOW_ANSWER})
    Should Be True    ${waited} < 5    The download took ${waited} s: the timeout did not cut it
    [Teardown]    Stop Agent Of Test    ${agent}

Large Artifact Downloads Completely And Runs
    [Documentation]    A JAR of 200 MiB (incompressible padding) is fetched whole in one request and
    ...    the JVM runs it.
    ${url}=    Create Large Jar    large.jar    ${LARGE_MB}
    ${job}=    Submit Job    java-batch    jar_path=local/large.jar    artifacts=${{ [{"source": $url}] }}
    Wait For Job To Complete Successfully    ${job}    timeout=3 min
    Task Log Should Contain    ${job}    Hello from crunjar!
    Artifact Should Have Been Requested    large.jar    times=1    status=200
    ${request}=    Get Artifact Requests    large.jar
    Should Be True    ${request}[0][complete]
    Should Be True    ${request}[0][bytes_sent] >= ${LARGE_MB} * 1048576
    Log    ${request}[0][bytes_sent] bytes served in ${request}[0][duration] s

Fetched Files Are Readable By The Task User
    [Documentation]    A file fetched with ``mode = "file"`` lands at exactly the path given as its
    ...    destination; it and the JAR arrive owned by root with mode 644, so the task user nobody
    ...    can read both but not change them.
    [Tags]    needs:isolation
    ${settings}=    Create Artifact    settings.txt    content=greeting=hello\n
    ${jar}=    Get Artifact Url    resource-reader.jar
    ${artifacts}=    Evaluate
    ...    [{"source": $jar}, {"source": $settings, "destination": "local/conf/app.settings", "mode": "file"}]
    VAR    ${inputs}=    local/conf/app.settings stat:local/conf/app.settings stat:local/resource-reader.jar
    ${job}=    Submit Job    java-batch    jar_path=local/resource-reader.jar    artifacts=${artifacts}
    ...    env=${{ {"APP_ARGS": $inputs} }}
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Contain    ${job}    BEGIN local/conf/app.settings\ngreeting=hello\nEND local/conf/app.settings\n
    Task Log Should Contain    ${job}
    ...    STAT local/conf/app.settings uid=0 gid=0 mode=644 readable=true writable=false
    Task Log Should Contain
    ...    ${job}
    ...    STAT local/resource-reader.jar uid=0 gid=0 mode=644 readable=true writable=false

Chown Gives Fetched Files To The Task User
    [Documentation]    With ``chown = true`` and the task's user named, Nomad gives the fetched file to
    ...    that user, as its artifact block documents: owned by nobody, writable by it.
    [Tags]    needs:nomad>=1.9.2
    ${settings}=    Create Artifact    owned.txt    content=owned\n
    ${jar}=    Get Artifact Url    resource-reader.jar
    ${artifacts}=    Evaluate
    ...    [{"source": $jar}, {"source": $settings, "destination": "local/owned.txt", "mode": "file", "chown": True}]
    ${job}=    Submit Job    java-batch    jar_path=local/resource-reader.jar    artifacts=${artifacts}
    ...    user=nobody    env=${{ {"APP_ARGS": "stat:local/owned.txt"} }}
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Contain    ${job}
    ...    STAT local/owned.txt uid=${NOBODY} gid=${NOBODY} mode=644 readable=true writable=true

Correct Checksum Lets The Task Run
    [Documentation]    An artifact whose sha256 checksum matches is accepted and runs.
    ${url}=    Get Artifact Url    hello.jar
    ${checksum}=    Get Artifact Checksum    hello.jar
    ${job}=    Submit Job    java-batch    jar_path=local/hello.jar
    ...    artifacts=${{ [{"source": $url, "options": {"checksum": $checksum}}] }}
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Contain    ${job}    Hello from crunjar!

Wrong Checksum Fails The Download
    [Documentation]    An artifact whose content does not match its checksum is rejected: the event
    ...    says the checksums did not match and shows the checksum of what was served.
    ${url}=    Get Artifact Url    hello.jar
    ${actual}=    Get Artifact Checksum    hello.jar
    VAR    ${wrong}=    sha256:${{ "0" * 64 }}
    ${job}=    Submit Job    java-batch    jar_path=local/hello.jar
    ...    artifacts=${{ [{"source": $url, "options": {"checksum": $wrong}}] }}
    Wait For Task State    ${job}    dead    failed=${True}
    Task Events Should Contain    ${job}    Failed Artifact Download    Checksums did not match
    Task Events Should Contain    ${job}    Failed Artifact Download    Got: ${actual.split(":")[1]}
    Task Should Never Have Started    ${job}

Failing Downloads Are Retried By Restarting The Task
    [Documentation]    The first two requests answer 503. Nomad does not retry within a download; the
    ...    task restarts by its policy (3 attempts), each restart fetches again, and the third
    ...    request succeeds: 3 requests, 2 restarts, and the job completes.
    Set Artifact Fault    retried.jar    fail_first=2
    ${url}=    Add Artifact    ${JARS}/hello.jar    retried.jar
    ${job}=    Submit Job    java-batch    jar_path=local/retried.jar    artifacts=${{ [{"source": $url}] }}
    ...    restart_attempts=${3}    restart_delay=1s
    Wait For Job To Complete Successfully    ${job}    timeout=90s
    Artifact Should Have Been Requested    retried.jar    times=2    status=503
    Artifact Should Have Been Requested    retried.jar    times=1    status=200
    Artifact Should Have Been Requested    retried.jar    times=3
    Task Events Should Contain    ${job}    Failed Artifact Download    bad response code: 503
    ${restarts}=    Get Task Restart Count    ${job}
    Should Be Equal As Integers    ${restarts}    2

Dropped Connections Fail The Job Once Restarts Are Exhausted
    [Documentation]    Every answer is cut after 1000 bytes: each attempt fails with an unexpected end of
    ...    file, the one restart allowed fetches again, then Nomad gives up and the allocation fails.
    Set Artifact Fault    dropped.jar    drop_after=1000
    ${url}=    Add Artifact    ${JARS}/hello.jar    dropped.jar
    ${job}=    Submit Job    java-batch    jar_path=local/dropped.jar    artifacts=${{ [{"source": $url}] }}
    ...    restart_attempts=${1}    restart_delay=1s
    Wait For Allocation Status    ${job}    failed    timeout=60s
    Artifact Should Have Been Requested    dropped.jar    times=2
    Every Request Should Have Been Cut    dropped.jar    after=1000
    Task Events Should Contain    ${job}    Failed Artifact Download    unexpected EOF
    Task Events Should Contain    ${job}    Not Restarting
    ...    Exceeded allowed attempts 1 in interval 24h0m0s and mode is "fail"
    Task Should Never Have Started    ${job}


*** Keywords ***
Every Request Should Have Been Cut
    [Documentation]    Every request for ``path`` was answered with exactly ``after`` bytes of its body,
    ...    then the connection was cut.
    [Arguments]    ${path}    ${after}
    ${requests}=    Get Artifact Requests    ${path}
    FOR    ${request}    IN    @{requests}
        Should Not Be True    ${request}[complete]
        Should Be Equal As Integers    ${request}[bytes_sent]    ${after}
    END
