/** Writes known lines to stderr, and one marker line to stdout. */
public final class Main {
    private Main() {
    }

    public static void main(String[] given) {
        String[] args = Inputs.of(given);
        int lines = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        for (int i = 1; i <= lines; i++) {
            System.err.println("stderr line " + i);
        }
        System.out.println("stdout marker");
    }
}
