/** Prints a numbered heartbeat line every interval (ms, first argument, default 500) until stopped. */
public final class Main {
    private Main() {
    }

    public static void main(String[] given) throws InterruptedException {
        String[] args = Inputs.of(given);
        long interval = args.length > 0 ? Long.parseLong(args[0]) : 500L;
        System.out.println("long-runner started pid " + ProcessHandle.current().pid());
        for (long beat = 1; ; beat++) {
            System.out.println("heartbeat " + beat);
            Thread.sleep(interval);
        }
    }
}
