rule Tollgate_EICAR
{
    meta:
        description = "EICAR anti-virus test file"
        severity = "high"
    strings:
        $eicar = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!"
    condition:
        $eicar
}
