# Hyperscan pattern file: NAME SEVERITY /REGEX/FLAGS (see README).
Tollgate.EICAR high /X5O!P%@AP\[4\\PZX54\(P\^\)7CC\)7\}\$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!\$H\+H\*/
