/** Exits with the status given as its first argument (0 without one). */
public final class Main {
    private Main() {
    }

    public static void main(String[] given) {
        String[] args = Inputs.of(given);
        int status = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        System.out.println("exiting with " + status);
        System.exit(status);
    }
}
