/* placeholder: replaced by the module */
int invited_placeholder_verifier_classify_c;
