# Pieces of bench/compare (ringmta against Postfix, end to end): process accounting, the Postfix
# phase, one measured run, and the text/JSON/HTML reports. Standard library only.
