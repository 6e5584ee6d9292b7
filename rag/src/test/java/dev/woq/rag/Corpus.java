package dev.woq.rag;

import java.util.List;

/** Pages with one distinctive fact each, so a search must land on the right page. */
final class Corpus {
    private Corpus() {}

    static final List<String> HANDBOOK = List.of(
            "Company handbook. This handbook describes how the Northwind cooperative works, who to ask,"
                    + " and where things are kept. Read it in your first week.",
            "Holidays. Every employee receives twenty-seven days of paid vacation per calendar year."
                    + " Unused vacation days can be carried over until the end of March.\n\n"
                    + "Public holidays are given in addition to the vacation days.",
            "Travel. Train tickets are booked through the travel desk on the second floor."
                    + " Flights need the approval of a department head before booking."
                    + " Hotel rooms are refunded up to one hundred and forty euros per night.",
            "Equipment. Each new colleague gets a laptop with sixteen gigabytes of memory on the first day."
                    + " Broken equipment is replaced by the helpdesk within two working days.",
            "Safety. The fire assembly point is the parking lot behind the bakery on Mill Street."
                    + " Fire drills happen twice a year, in April and in October.");
}
