*** Settings ***
Documentation     Story: performance. How the driver holds a task to its CPU: reserved cores are a hard
...               limit, a task's cpu is its share of a busy host, and where the driver sets a CFS quota
...               a task is throttled to its cpu. The cpu-burner JAR keeps more threads busy than it is
...               given; its CPU use is sampled from Nomad's allocation stats.

Resource          ../../resources/performance.resource

Suite Setup       Start Measured Nomad Agent
Suite Teardown    Finish Measured Suite
# A burner left running would take its share of the next test's cores.
Test Teardown     Stop All Jobs

Test Tags         area:performance    story:performance    needs:local-agents


*** Variables ***
# Longer than any test samples (bench's longer windows included): each test stops its burners.
${BURN_SECONDS}    120
# Enough for the check; `make bench` samples longer (bench/sampling.py).
${CPU_WINDOW}      4s
# Both burners are sampled over the same seconds.
${SHARE_WINDOW}    8s


*** Test Cases ***
CPU Burner On One Reserved Core Is Held To That Core
    [Documentation]    A burner keeping two threads busy on a task with cores = 1 uses no more than that
    ...    core (its CPU allocation in MHz, +25%) over ${CPU_WINDOW}; its mean is recorded as
    ...    reserved_core_burner_cpu.
    [Tags]    needs:cgroup-limits
    ${job}=    Submit CPU Burner    2    ${BURN_SECONDS}    template=${CURDIR}/jobs/java-reserved-cores.hcl.j2
    ...    cores=${1}
    ${mhz}=    Task Should Be Throttled To Its CPU Limit    ${job}    duration=${CPU_WINDOW}
    Record Metric    reserved_core_burner_cpu    ${mhz}    MHz

Busy Tasks Share The CPU In Proportion To Their cpu
    [Documentation]    Two burners that each want every core, one with cpu = 500 and one with cpu = 1500, split
    ...    the host about 1:3 (Nomad's cpu is a weight for the driver): the smaller gets between a
    ...    tenth and 40% of their total. Its share is recorded as cpu_share_of_500_beside_1500.
    [Tags]    needs:cgroup-limits
    ${threads}=    Evaluate    2 * os.cpu_count()    modules=os
    ${small}=    Submit CPU Burner    ${threads}    ${BURN_SECONDS}    cpu=${500}
    ${large}=    Submit CPU Burner    ${threads}    ${BURN_SECONDS}    cpu=${1500}
    ${small_mhz}    ${large_mhz}=    Mean CPU Of Tasks Side By Side    ${{ [$small, $large] }}
    ...    ${{ ["cpu = 500 burner beside cpu = 1500", "cpu = 1500 burner beside cpu = 500"] }}
    ...    duration=${SHARE_WINDOW}
    ${share}=    Evaluate    $small_mhz / ($small_mhz + $large_mhz)
    Record Metric    cpu_share_of_500_beside_1500    ${share}    ratio
    Should Be True    0.10 < ${share} < 0.40
    ...    The cpu = 500 burner got ${share} of the CPU (${small_mhz} MHz beside ${large_mhz} MHz), not about 1/4

CPU Burner At cpu = 500 Is Throttled To 500 MHz
    [Documentation]    Where the driver gives a task a CFS quota for its cpu (crunjar with
    ...    cpu_hard_limit = true), a burner keeping two threads busy at cpu = 500 is throttled to about
    ...    500 MHz. Drivers that give cpu as a weight only (cpu.shares: Nomad's exec and java) do not
    ...    claim cpu-hard-limit and skip this.
    [Tags]    needs:cpu-hard-limit
    ${job}=    Submit CPU Burner    2    ${BURN_SECONDS}    cpu=${500}    config=${{ {"cpu_hard_limit": True} }}
    ${mhz}=    Task Should Be Throttled To Its CPU Limit    ${job}    duration=${CPU_WINDOW}
    Record Metric    cpu_500_burner_cpu    ${mhz}    MHz
