/**
 * Prints a numbered heartbeat every interval for a while, then exits with a given status.
 *
 * <p>Arguments: seconds to run (default 10), exit status (default 0), heartbeat interval in ms
 * (default 250). The run time is measured from the start, so a pause of the process (a crash of
 * whoever watches it) does not make it run longer.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] given) throws InterruptedException {
        String[] args = Inputs.of(given);
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 10.0;
        int status = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        long interval = args.length > 2 ? Long.parseLong(args[2]) : 250L;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        System.out.println("sleeper started pid " + ProcessHandle.current().pid() + ", exits with " + status
                + " after " + seconds + " s");
        for (long beat = 1; System.nanoTime() < end; beat++) {
            System.out.println("heartbeat " + beat);
            Thread.sleep(Math.max(1L, Math.min(interval, (end - System.nanoTime()) / 1_000_000L)));
        }
        System.out.println("sleeper exiting with " + status);
        System.exit(status);
    }
}
