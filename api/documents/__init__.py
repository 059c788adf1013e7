"""Documents for people to file, print and sign: reports and notices, as Excel and PDF."""
