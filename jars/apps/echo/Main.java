/**
 * Prints a fixed first line, then how many arguments it got and each one between angle brackets, so that
 * a test can compare its whole stdout exactly and see spaces, quotes and empty arguments.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.out.println("echo started");
        System.out.println("argc=" + args.length);
        for (int i = 0; i < args.length; i++) {
            System.out.println("argv[" + i + "]=<" + args[i] + ">");
        }
    }
}
